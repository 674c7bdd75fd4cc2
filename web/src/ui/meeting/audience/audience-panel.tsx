/**
 * The audience panel for hosts and co-hosts of an event: how many watch, the raised hands
 * (oldest first) with "Allow to speak", a searchable list of the audience (`audience.list`, a page
 * at a time), and the livestream's controls.
 */
import { useEffect, useRef, useState } from "preact/hooks";
import { describeError } from "../../../protocol/errors";
import { isolate } from "../../../i18n";
import { useT } from "../../../i18n/hook";
import { applyListPage, hasMore, initialSearch, LIST_PAGE, type AudienceSearch } from "../../../room/audience";
import type { Room } from "../../../room/room";
import type { RoomState } from "../../../room/state";
import { Icon } from "../../icons";
import { PanelFrame } from "../panels";
import { LivestreamControls } from "./livestream-controls";
import "./audience.css";

/** Typing pauses this long before the audience is searched. */
const SEARCH_DELAY_MS = 300;

export function AudiencePanel({ room, state, onClose }: { room: Room; state: RoomState; onClose: () => void }) {
  const t = useT();
  const { count, hands } = state.audience;
  return (
    <PanelFrame title={t("audience.panelTitle", { count })} onClose={onClose} testid="audience-panel" opener="audience-button">
      <div class="panel-body audience-panel">
        <p class="muted" role="status" aria-live="polite" data-testid="audience-panel-count">{t("audience.watching", { count })}</p>
        <section aria-labelledby="audience-hands-title">
          <h3 id="audience-hands-title">{t("audience.hands", { count: hands.length })}</h3>
          {hands.length === 0 ? (
            <p class="muted small" data-testid="audience-no-hands">{t("audience.noHands")}</p>
          ) : (
            <ul class="audience-list" data-testid="audience-hands">
              {hands.map((h) => (
                <li key={h.id} data-testid="audience-hand" data-participant-id={h.id}>
                  <span class="name">
                    <Icon name="hand" size={16} aria-label={t("panels.handRaised")} /> <bdi>{h.display_name}</bdi>
                    {h.guest ? t("panels.guestSuffix") : ""}
                  </span>
                  <button type="button" class="btn small primary" data-testid="audience-promote"
                    aria-label={t("audience.promoteName", { name: isolate(h.display_name) })}
                    onClick={() => void room.audience.promote(h.id)}>
                    {t("audience.promote")}
                  </button>
                </li>
              ))}
            </ul>
          )}
        </section>
        <AudienceSearchBox room={room} />
        <LivestreamControls room={room} state={state} />
      </div>
    </PanelFrame>
  );
}

function AudienceSearchBox({ room }: { room: Room }) {
  const t = useT();
  const [text, setText] = useState("");
  const [search, setSearch] = useState<AudienceSearch>(initialSearch());
  const latest = useRef(search);
  latest.current = search;

  const load = async (query: string, offset: number) => {
    setSearch((s) => ({ ...(offset === 0 ? initialSearch(query) : s), loading: true, error: null }));
    try {
      const reply = await room.audience.list(query, offset, LIST_PAGE);
      setSearch((s) => applyListPage(s, query, offset, reply));
    } catch (err) {
      setSearch((s) => (s.query === query ? { ...s, loading: false, error: describeError(err) } : s));
    }
  };

  // The first page on opening, then a search a moment after typing stops.
  useEffect(() => {
    const timer = setTimeout(() => void load(text.trim(), 0), text ? SEARCH_DELAY_MS : 0);
    return () => clearTimeout(timer);
  }, [text]);

  return (
    <section aria-labelledby="audience-list-title">
      <h3 id="audience-list-title">{t("audience.listTitle")}</h3>
      <input type="search" value={text} maxLength={64} data-testid="audience-search" aria-label={t("audience.search")}
        placeholder={t("audience.search")} dir="auto" onInput={(e) => setText(e.currentTarget.value)} />
      <p class="muted small" role="status" aria-live="polite" data-testid="audience-total">
        {search.loading && search.attendees.length === 0 ? t("common.loading") : t("audience.found", { count: search.total })}
      </p>
      {search.error && <p class="error small" role="alert">{search.error}</p>}
      <ul class="audience-list" data-testid="audience-list">
        {search.attendees.map((a) => (
          <li key={a.id} data-testid="audience-entry" data-participant-id={a.id}>
            <span class="name">
              {a.hand_raised_at && <Icon name="hand" size={16} aria-label={t("panels.handRaised")} />} <bdi>{a.display_name}</bdi>
              {a.guest ? t("panels.guestSuffix") : ""}
            </span>
            <button type="button" class="btn small" data-testid="audience-entry-promote"
              aria-label={t("audience.promoteName", { name: isolate(a.display_name) })}
              onClick={async () => {
                if (await room.audience.promote(a.id)) {
                  setSearch((s) => ({ ...s, attendees: s.attendees.filter((x) => x.id !== a.id), total: Math.max(0, s.total - 1) }));
                }
              }}>
              {t("audience.promote")}
            </button>
          </li>
        ))}
      </ul>
      {hasMore(search) && (
        <button type="button" class="btn small ghost" data-testid="audience-more" disabled={search.loading}
          onClick={() => void load(latest.current.query, latest.current.attendees.length)}>
          {t("audience.more")}
        </button>
      )}
    </section>
  );
}
