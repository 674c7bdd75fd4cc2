"""Connected calendars: busy times from ICS and CalDAV, publishing to CalDAV."""
