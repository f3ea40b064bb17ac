"""Development tools: checks and measurements run by make targets, never imported by a lesson."""
