"""Early warning that is explained (预警监管): rules as data (``rules.toml``, checked at start),
evaluated purely on a snapshot of figures (``evaluate``), raised alerts kept with the figures and
thresholds that made them, acknowledged by a named supervisor (``repository``, ``api``)."""
