/**
 * The meeting stage: the paged grid view and the speaker view, made of tiles.
 */
import { createContext } from "preact";
import { useContext, useEffect, useMemo, useRef, useState } from "preact/hooks";
import type { Quality } from "../../engine/quality";
import type { RemoteStream } from "../../engine/subscriber";
import type { FeedInfo, ParticipantInfo } from "../../protocol/types";
import type { Room } from "../../room/room";
import { isHostRole, selfInfo, type FloatingReaction, type RoomState } from "../../room/state";
import { isolate } from "../../i18n";
import { useT } from "../../i18n/hook";
import { useSize } from "../hooks";
import { Icon } from "../icons";
import { chosenTilesPerPage, featuredIds, fitGrid, initials, MAX_FEATURED, orderParticipants, paginate, withoutSelf } from "../layout";
import { VideoView } from "./media-views";
import { isAttendee } from "../../room/audience";
import { useViewPrefs } from "./view-prefs";
import "./comforts.css";

export type ViewMode = "grid" | "speaker";

export interface FeedTracks {
  video?: MediaStreamTrack;
  audio?: MediaStreamTrack;
}

export function tracksByFeed(streams: RemoteStream[]): Map<number, FeedTracks> {
  const map = new Map<number, FeedTracks>();
  for (const s of streams) {
    if (!s.track || !s.active) continue;
    const entry = map.get(s.feed) ?? {};
    entry[s.kind] = s.track;
    map.set(s.feed, entry);
  }
  return map;
}

interface StageProps {
  room: Room;
  state: RoomState;
  view: ViewMode;
  tracks: Map<number, FeedTracks>;
  quality: ReadonlyMap<string, Quality>;
  localVideo: MediaStreamTrack | null;
  localScreen: MediaStreamTrack | null;
  /** This participant's microphone as the device has it (the server's view may lag). */
  localMicOn: boolean;
  /** The tiles this person pinned for themselves (only this browser knows). */
  pins: readonly string[];
  onPin: (participantId: string) => void;
}

const PinsContext = createContext<{ pins: readonly string[]; onPin: (participantId: string) => void }>({
  pins: [],
  onPin: () => undefined,
});

type Item =
  | { kind: "person"; key: string; participant: ParticipantInfo; feed: FeedInfo | undefined }
  | { kind: "screen"; key: string; participant: ParticipantInfo; feed: FeedInfo | undefined };

function feedOf(state: RoomState, participantId: string, source: "main" | "screen"): FeedInfo | undefined {
  for (const f of state.feeds.values()) if (f.participant_id === participantId && f.source === source) return f;
  return undefined;
}

/** Screen shares in the meeting (remote feeds, or our own share). */
function screenItems(state: RoomState, localScreen: MediaStreamTrack | null): Item[] {
  const items: Item[] = [];
  for (const f of state.feeds.values()) {
    if (f.source !== "screen") continue;
    const p = state.participants.get(f.participant_id);
    if (p) items.push({ kind: "screen", key: `screen-${f.id}`, participant: p, feed: f });
  }
  if (localScreen && state.selfId && !items.some((i) => i.participant.id === state.selfId)) {
    const self = state.participants.get(state.selfId);
    if (self) items.push({ kind: "screen", key: "screen-self", participant: self, feed: undefined });
  }
  return items;
}

/** The people to tile: without oneself when asked, and always for an event's attendee (not on stage). */
function othersShown(state: RoomState, people: readonly ParticipantInfo[], hideSelf: boolean): ParticipantInfo[] {
  if (isAttendee(selfInfo(state))) return people.filter((p) => p.id !== state.selfId);
  return withoutSelf(people, state.selfId, hideSelf);
}

/**
 * Spotlighted (for everyone) and pinned (for oneself) people take the main stage, whichever view
 * was chosen; otherwise the grid or the speaker view.
 */
export function Stage(props: StageProps) {
  const featured = featuredIds(props.state.spotlight, props.pins, props.state.participants);
  const pins = useMemo(() => ({ pins: props.pins, onPin: props.onPin }), [props.pins, props.onPin]);
  return (
    <PinsContext.Provider value={pins}>
      {featured.length > 0 || props.view === "speaker" ? <SpeakerView {...props} featured={featured} /> : <GridView {...props} />}
    </PinsContext.Provider>
  );
}

function useReportVisible(room: Room, items: Item[]): void {
  const ids = items.filter((i) => i.kind === "person").map((i) => i.participant.id);
  const screen = items.find((i) => i.kind === "screen" && i.feed)?.feed?.id ?? null;
  const key = `${ids.join(",")}|${screen}`;
  useEffect(() => {
    room.setVisibleParticipants(ids, screen);
    // `key` stands for `ids` and `screen` (new arrays every render).
  }, [room, key, room.state.feeds]);
}

function GridView({ room, state, tracks, quality, localVideo, localScreen, localMicOn }: StageProps) {
  const [ref, size] = useSize<HTMLDivElement>();
  const [page, setPage] = useState(0);
  const t = useT();
  const prefs = useViewPrefs();
  const screens = useMemo(() => screenItems(state, localScreen), [state, localScreen]);
  // The stage has 8 px padding on each side; the pager needs a strip at the bottom.
  const area = { width: Math.max(0, size.width - 16), height: Math.max(0, size.height - 16) };
  const roughPages = Math.ceil(state.participants.size / Math.max(1, chosenTilesPerPage(prefs.tilesPerPage, area.width, area.height)));
  if (roughPages > 1) area.height = Math.max(0, area.height - 48);
  const perPage = Math.max(1, chosenTilesPerPage(prefs.tilesPerPage, area.width, area.height) - (page === 0 ? screens.length : 0));
  const people = useMemo(
    () => othersShown(state, orderParticipants(state.participants.values(), state.selfId, state.lastSpoke, perPage, Date.now()), prefs.hideSelf),
    [state.participants, state.selfId, state.lastSpoke, perPage, prefs.hideSelf],
  );
  const paged = paginate(people, perPage, page);
  useEffect(() => {
    if (paged.page !== page) setPage(paged.page);
  }, [paged.page, page]);

  const items: Item[] = [
    ...(paged.page === 0 ? screens : []),
    ...paged.items.map((p): Item => ({ kind: "person", key: p.id, participant: p, feed: feedOf(state, p.id, "main") })),
  ];
  useReportVisible(room, items);
  const fit = fitGrid(items.length, area.width, area.height);

  return (
    <div class={`stage grid-view ${paged.pages > 1 ? "paged" : ""}`} ref={ref} data-testid="grid-view" data-page={paged.page} data-pages={paged.pages}>
      {/* Tiles wrap in rows of `cols`; a shorter last row is centred (flex, not a CSS grid). */}
      <div class="grid centred" role="list" data-cols={fit.cols}
        style={{ width: `${fit.cols * Math.floor(fit.tileWidth) + (fit.cols - 1) * 8}px` }}>
        {items.map((item) => (
          <Tile key={item.key} room={room} state={state} item={item} tracks={tracks} quality={quality}
            localVideo={localVideo} localScreen={localScreen} localMicOn={localMicOn} height={fit.tileHeight} width={fit.tileWidth} />
        ))}
      </div>
      {paged.pages > 1 && (
        <nav class="pager" aria-label={t("stage.pages")}>
          <button type="button" class="round small" data-testid="pager-prev" aria-label={t("stage.previousPage")}
            disabled={paged.page === 0} onClick={() => setPage(paged.page - 1)}>
            <Icon name="chevronLeft" />
          </button>
          <span data-testid="pager-label" dir="ltr">{paged.page + 1} / {paged.pages}</span>
          <button type="button" class="round small" data-testid="pager-next" aria-label={t("stage.nextPage")}
            disabled={paged.page >= paged.pages - 1} onClick={() => setPage(paged.page + 1)}>
            <Icon name="chevronRight" />
          </button>
        </nav>
      )}
    </div>
  );
}

/**
 * One large tile (the screen share or the active speaker) above a filmstrip; or, when people are
 * spotlighted or pinned (`featured`), those people (beside the screen share, if any) side by side.
 */
function SpeakerView({ room, state, tracks, quality, localVideo, localScreen, localMicOn, featured }: StageProps & { featured: readonly string[] }) {
  const [ref, size] = useSize<HTMLDivElement>();
  const t = useT();
  const prefs = useViewPrefs();
  const screens = screenItems(state, localScreen);
  const others = [...state.participants.values()].filter((p) => p.id !== state.selfId);
  const self = state.selfId ? state.participants.get(state.selfId) : undefined;
  const speaker =
    (state.activeSpeaker && state.participants.get(state.activeSpeaker)) || others[0] || (isAttendee(self) ? undefined : self);
  const person = (p: ParticipantInfo): Item => ({ kind: "person", key: p.id, participant: p, feed: feedOf(state, p.id, "main") });
  const featuredPeople = featured.flatMap((id) => {
    const p = state.participants.get(id);
    return p ? [person(p)] : [];
  });
  const single: Item | undefined = screens.at(-1) ?? (speaker ? person(speaker) : undefined);
  const mains: Item[] = featuredPeople.length > 0 ? [...screens.slice(-1), ...featuredPeople] : single ? [single] : [];
  const onStage = new Set(mains.filter((i) => i.kind === "person").map((i) => i.participant.id));

  const stripCount = Math.max(1, Math.floor((size.width - 16 + 8) / ((size.width < 720 ? 120 : 160) + 8)));
  const stripPeople = othersShown(
    state,
    orderParticipants(state.participants.values(), state.selfId, state.lastSpoke, stripCount, Date.now()).filter((p) => !onStage.has(p.id)),
    prefs.hideSelf,
  );
  const strip = stripPeople.slice(0, stripCount);
  const hidden = stripPeople.length - strip.length;
  const items: Item[] = [...mains, ...strip.map(person)];
  useReportVisible(room, items);
  const stripHeight = 90;
  const mainHeight = Math.max(0, size.height - stripHeight - 16);
  const fit = fitGrid(mains.length, Math.max(0, size.width - 16), mainHeight);

  return (
    <div class="stage speaker-view" ref={ref} data-testid="speaker-view" data-featured={featured.join(",")}>
      <div class={`speaker-main ${mains.length > 1 ? "several" : ""}`}>
        {mains.length === 1 && (
          <Tile room={room} state={state} item={mains[0]!} tracks={tracks} quality={quality} localVideo={localVideo}
            localScreen={localScreen} localMicOn={localMicOn} height={mainHeight} large />
        )}
        {mains.length > 1 && mains.map((item) => (
          <Tile key={item.key} room={room} state={state} item={item} tracks={tracks} quality={quality} localVideo={localVideo}
            localScreen={localScreen} localMicOn={localMicOn} height={fit.tileHeight} width={fit.tileWidth} large />
        ))}
      </div>
      <div class="filmstrip" role="list" aria-label={t("stage.others")}>
        {items.slice(mains.length).map((item) => (
          <Tile key={item.key} room={room} state={state} item={item} tracks={tracks} quality={quality}
            localVideo={localVideo} localScreen={localScreen} localMicOn={localMicOn} height={stripHeight} />
        ))}
        {hidden > 0 && <div class="filmstrip-more" aria-label={t("stage.more", { count: hidden })}>+{hidden}</div>}
      </div>
    </div>
  );
}

interface TileProps {
  room: Room;
  state: RoomState;
  item: Item;
  tracks: Map<number, FeedTracks>;
  quality: ReadonlyMap<string, Quality>;
  localVideo: MediaStreamTrack | null;
  localScreen: MediaStreamTrack | null;
  localMicOn: boolean;
  height: number;
  /** Set in a grid of tiles (the large single tile fills its area instead). */
  width?: number;
  large?: boolean;
}

function Tile({ room, state, item, tracks, quality, localVideo, localScreen, localMicOn, height, width, large = false }: TileProps) {
  const isSelf = item.participant.id === state.selfId;
  const p = isSelf ? { ...item.participant, audio: localMicOn } : item.participant;
  const isScreen = item.kind === "screen";
  const feedId = item.feed?.id;
  const t = useT();
  let track: MediaStreamTrack | null = null;
  if (isSelf) track = isScreen ? localScreen : localVideo;
  else if (feedId !== undefined && (isScreen || p.video)) track = tracks.get(feedId)?.video ?? null;

  // The simulcast layer follows the tile's size on screen.
  const elRef = useRef<HTMLDivElement>(null);
  useEffect(() => {
    if (feedId === undefined || isSelf) return;
    room.setTileHeight(feedId, Math.round(height));
  }, [room, feedId, isSelf, height]);

  const speaking = !isScreen && state.speaking.has(p.id);
  const q = quality.get(p.id) ?? "unknown";
  const reactions = isScreen ? [] : state.reactions.filter((r) => r.participantId === p.id);
  const suffix = isScreen ? t("stage.screenSuffix") : isSelf ? t("stage.youSuffix") : "";
  const { pins, onPin } = useContext(PinsContext);
  const pinned = !isScreen && pins.includes(p.id);
  const spotlighted = !isScreen && state.spotlight.includes(p.id);
  const moderator = isHostRole(selfInfo(state));
  const name = isolate(p.display_name);
  const size = width === undefined ? { height: `${Math.floor(height)}px` } : { height: `${Math.floor(height)}px`, width: `${Math.floor(width)}px` };

  return (
    <div
      ref={elRef}
      class={`tile ${speaking ? "speaking" : ""} ${large ? "large" : ""} ${isScreen ? "screen" : ""} ${width !== undefined ? "sized" : ""}`}
      style={large && width === undefined ? undefined : size}
      data-testid={isScreen ? "screen-tile" : "tile"}
      data-participant-id={p.id}
      data-feed-id={feedId ?? ""}
      data-speaking={speaking ? "true" : "false"}
      data-self={isSelf ? "true" : "false"}
      data-pinned={pinned ? "true" : "false"}
      data-spotlighted={spotlighted ? "true" : "false"}
      data-large={large ? "true" : "false"}
      role={large ? "group" : "listitem"}
      aria-label={t("stage.tileLabel", {
        name: `${isolate(p.display_name)}${suffix}`,
        muted: !p.audio && !isScreen ? "yes" : "no",
        hand: p.hand_raised ? "yes" : "no",
      })}
    >
      {track ? (
        <VideoView track={track} mirror={isSelf && !isScreen} fit={isScreen ? "contain" : "cover"} testid="tile-video" />
      ) : (
        <div class="avatar" aria-hidden="true">
          <span>{initials(p.display_name)}</span>
        </div>
      )}
      <div class="tile-label">
        {!isScreen && !p.audio && <Icon name="micOff" size={14} class="muted-icon" aria-label={t("stage.muted")} data-testid="tile-muted" />}
        {p.role === "host" && !isScreen && <Icon name="host" size={14} class="host-icon" aria-label={t("stage.host")} data-testid="tile-host" />}
        {/* The name isolated: one written right to left, or made of bidi controls, cannot reorder the label. */}
        <span class="tile-name" data-testid="tile-name"><bdi>{p.display_name}</bdi>{suffix}</span>
        {p.role === "cohost" && !isScreen && <span class="badge">{t("stage.cohost")}</span>}
        {p.connection === "reconnecting" && <span class="badge warn">{t("stage.reconnecting")}</span>}
        {spotlighted && <span class="badge" data-testid="tile-spotlight-badge">{t("stage.spotlighted")}</span>}
        {pinned && <Icon name="pin" size={14} aria-label={t("stage.pinned")} data-testid="tile-pinned" />}
      </div>
      {!isScreen && (
        <div class="tile-actions">
          <button type="button" class={`round small tile-action ${pinned ? "on" : ""}`} data-testid="tile-pin" aria-pressed={pinned}
            aria-label={pinned ? t("stage.unpin", { name }) : t("stage.pin", { name })} onClick={() => onPin(p.id)}>
            <Icon name="pin" size={16} />
          </button>
          {moderator && (
            <button type="button" class={`round small tile-action ${spotlighted ? "on" : ""}`} data-testid="tile-spotlight"
              aria-pressed={spotlighted} disabled={!spotlighted && state.spotlight.length >= MAX_FEATURED}
              aria-label={spotlighted ? t("stage.unspotlight", { name }) : t("stage.spotlight", { name })}
              onClick={() => void room.host.spotlight(spotlighted ? state.spotlight.filter((id) => id !== p.id) : [...state.spotlight, p.id])}>
              <Icon name="spotlight" size={16} />
            </button>
          )}
        </div>
      )}
      {p.hand_raised && !isScreen && (
        <div class="tile-hand" aria-hidden="true" data-testid="tile-hand"><Icon name="hand" size={22} /></div>
      )}
      {!isScreen && (
        <div class={`tile-quality q-${q}`} data-testid="tile-quality" data-quality={q} title={t("stage.connection", { quality: q })}
          aria-label={t("stage.connectionQuality", { quality: q })} role="img">
          <Icon name="signal" size={14} />
        </div>
      )}
      <Reactions reactions={reactions} />
    </div>
  );
}

function Reactions({ reactions }: { reactions: readonly FloatingReaction[] }) {
  if (reactions.length === 0) return null;
  return (
    <div class="reactions" aria-live="polite">
      {reactions.map((r, i) => (
        <span key={r.key} class="reaction" style={{ left: `${20 + ((i * 37) % 60)}%` }} data-testid="tile-reaction">
          {r.emoji}
        </span>
      ))}
    </div>
  );
}
