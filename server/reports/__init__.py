"""Reports over time (docs/reports.md): daily aggregates kept in the database, the job that
folds settled contacts, ratings and legal clocks into them, and the summaries read from them."""
