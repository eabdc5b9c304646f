"""Quality review of real sessions (质检、质量评查) with random selection (双随机): random cases, a
random reviewer among eligible staff, never one's own case; scored on a checklist kept as data;
the reviewed person sees the result and may answer."""
