"""Agreements (人民调解协议书) as stored and checked: content rules, confirmability, follow-up,
signatures, the PDF, the schema and the repository."""
