"""Persistent state: users, sign-in sessions, meetings, bans, chat and the participation log.

:class:`~convene.storage.db.Database` owns the engine and exposes one repository per concern;
each returns frozen records, never ORM objects, so callers need no session.
"""

from convene.storage.auth_sessions import AuthSessionStore, SessionRecord
from convene.storage.bans import BanRecord, BanStore
from convene.storage.chat import ChatRecord, ChatStore
from convene.storage.db import Database
from convene.storage.meetings import MeetingChanges, MeetingRecord, MeetingStatus, MeetingStore
from convene.storage.participation import ParticipationRecord, ParticipationStore
from convene.storage.users import UserRecord, UserStore

__all__ = [
    "AuthSessionStore",
    "BanRecord",
    "BanStore",
    "ChatRecord",
    "ChatStore",
    "Database",
    "MeetingChanges",
    "MeetingRecord",
    "MeetingStatus",
    "MeetingStore",
    "ParticipationRecord",
    "ParticipationStore",
    "SessionRecord",
    "UserRecord",
    "UserStore",
]
