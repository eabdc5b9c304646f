"""Every case rated, every rating read (随单评价、一单一评): ratings of consultations, mediations
and applications with the reasons people give, and the follow-up (回访) a low rating or a
complaint opens for a supervisor. ``rules`` is pure; ``repository`` the database; ``api`` REST."""
