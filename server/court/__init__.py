"""Judicial confirmation (司法确认) rules and evidence: competent courts and time limits, the sealed
package and its offline verification. Pure."""
