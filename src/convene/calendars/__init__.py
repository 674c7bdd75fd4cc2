"""Calendars elsewhere: busy times from ICS URLs and CalDAV, publishing to CalDAV, the feed."""
