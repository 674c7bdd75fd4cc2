/** Words for answers and roles, shared by the calendar, the details and the answer page. */
import type { PartStat, ScheduleRole } from "../../protocol/scheduling";

export const PARTSTAT_TEXT: Record<PartStat, string> = {
  "NEEDS-ACTION": "Not answered",
  ACCEPTED: "Accepted",
  TENTATIVE: "Maybe",
  DECLINED: "Declined",
};

export const ROLE_TEXT: Record<ScheduleRole, string> = { organizer: "Organiser", cohost: "Co-host", attendee: "Invited" };
