"""Scheduling: recurring meetings in time zones, invitations, reminders, conflicts, calendars."""
