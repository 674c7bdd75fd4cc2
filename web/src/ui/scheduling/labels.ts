/**
 * Words for answers and roles, shared by the calendar, the details and the answer page. Each is
 * looked up when read, so it follows the UI's language (components re-render through `useT()`).
 */
import { t } from "../../i18n";
import type { PartStat, ScheduleRole } from "../../protocol/scheduling";

export const PARTSTAT_TEXT: Readonly<Record<PartStat, string>> = {
  get "NEEDS-ACTION"() { return t("schedule.partstat.needsAction"); },
  get ACCEPTED() { return t("schedule.partstat.accepted"); },
  get TENTATIVE() { return t("schedule.partstat.tentative"); },
  get DECLINED() { return t("schedule.partstat.declined"); },
};

export const ROLE_TEXT: Readonly<Record<ScheduleRole, string>> = {
  get organizer() { return t("schedule.role.organizer"); },
  get cohost() { return t("schedule.role.cohost"); },
  get attendee() { return t("schedule.role.attendee"); },
};
