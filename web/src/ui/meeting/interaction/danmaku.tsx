/**
 * Bullet comments over the stage: each flies right to left in a lane of its own (see
 * room/comments: lanes, the density limit), in its text's own direction (`dir="auto"`: Arabic
 * flies across too, reading right to left). With prefers-reduced-motion nothing moves: the
 * latest few fade in and out in a column instead. The overlay is hidden from screen readers
 * (they would hear every comment); the comments panel is the accessible list. Hosts and co-hosts
 * hide a comment by clicking it (or from the panel, by keyboard).
 */
import { useEffect, useRef, useState } from "preact/hooks";
import { describeError } from "../../../protocol/errors";
import type { Comment } from "../../../protocol/types";
import {
  commentPrefs,
  DURATION_MS,
  laneCount,
  MAX_FLYING,
  pickLane,
  withoutIncoming,
  type Flight,
} from "../../../room/comments";
import type { Room } from "../../../room/room";
import { isHostRole, selfInfo, type RoomState } from "../../../room/state";
import { useT } from "../../../i18n/hook";
import { useSize, useStore } from "../../hooks";
import { useReducedMotion } from "./motion";
import "./interaction.css";

interface Flying {
  comment: Comment;
  /** Lane index (reduced motion: the row). */
  lane: number;
  start: number;
  width: number;
  /** The stage's width when it started (a resize does not make it jump). */
  from: number;
}

const FONT_PX = 20;
const LINE_PX = 34;
/** Reduced motion: the column shows this many, each for this long. */
const STILL_COUNT = 5;
const STILL_MS = 6_000;
const STEP_MS = 200;

let canvas: CanvasRenderingContext2D | null | undefined;

/** The width of a comment's line (canvas metrics; a fair guess where there is no canvas). */
function textWidth(text: string): number {
  if (canvas === undefined) {
    try {
      canvas = typeof document === "undefined" ? null : document.createElement("canvas").getContext("2d");
      if (canvas) canvas.font = `600 ${FONT_PX}px system-ui, sans-serif`;
    } catch {
      canvas = null;
    }
  }
  const measured = canvas?.measureText(text).width;
  const guess = [...text].reduce((w, ch) => w + (ch.codePointAt(0)! > 0x2e80 ? FONT_PX : FONT_PX * 0.6), 0);
  return Math.ceil((measured && measured > 0 ? measured : guess) + 24);
}

export function CommentsOverlay({ room, state }: { room: Room; state: RoomState }) {
  const prefs = useStore(commentPrefs);
  if (!prefs.show || !state.comments.enabled) return null;
  return <FlyingComments room={room} state={state} />;
}

/** The overlay itself, mounted while comments show (so that its size is measured from the start). */
function FlyingComments({ room, state }: { room: Room; state: RoomState }) {
  const t = useT();
  const reduced = useReducedMotion();
  const [ref, size] = useSize<HTMLDivElement>();
  const [flying, setFlying] = useState<Flying[]>([]);
  const flyingRef = useRef<Flying[]>([]);
  const setList = (list: Flying[]) => {
    flyingRef.current = list;
    setFlying(list);
  };
  const lanes = useRef<(Flight | null)[]>([]);
  const moderator = isHostRole(selfInfo(state));
  const sizeRef = useRef(size);
  sizeRef.current = size;

  // Every step: end what has flown, take what may fly now into free lanes, drop what waited too long.
  useEffect(() => {
    const step = () => {
      const now = Date.now();
      const { width, height } = sizeRef.current;
      const life = reduced ? STILL_MS : DURATION_MS + 500;
      const comments = room.state.comments;
      const taken = new Set<string>();
      const list = flyingRef.current;
      let next = list.filter((f) => now - f.start < life && !comments.hidden.has(f.comment.id));
      if (width > 0 && height > 0) {
        const count = reduced ? STILL_COUNT : laneCount(height, LINE_PX);
        if (lanes.current.length !== count) lanes.current = Array.from({ length: count }, (_, i) => lanes.current[i] ?? null);
        for (const { comment } of comments.incoming) {
          if (next.length >= (reduced ? STILL_COUNT : MAX_FLYING)) break;
          if (reduced) {
            next = [...next, { comment, lane: 0, start: now, width: 0, from: 0 }];
            taken.add(comment.id);
            continue;
          }
          const w = textWidth(comment.text);
          const lane = pickLane(lanes.current, now, width, w);
          if (lane < 0) break; // the oldest waits for a lane; the rest wait behind it
          lanes.current[lane] = { start: now, width: w };
          next = [...next, { comment, lane, start: now, width: w, from: width }];
          taken.add(comment.id);
        }
      }
      if (next.length !== list.length || taken.size > 0) setList(next);
      const rest = withoutIncoming(comments, taken, now);
      if (rest !== comments) room.updateInteraction({ comments: rest });
    };
    step();
    const timer = setInterval(step, STEP_MS);
    return () => clearInterval(timer);
  }, [room, reduced]);

  // A hidden comment goes at once.
  const hidden = state.comments.hidden;
  const shown = flying.filter((f) => !hidden.has(f.comment.id));

  return (
    <div class={`danmaku ${reduced ? "still" : ""}`} ref={ref} data-testid="comments-overlay" aria-hidden="true"
      data-moderator={moderator ? "true" : "false"}>
      {shown.map((f, i) => {
        const style = reduced
          ? { animationDuration: `${STILL_MS}ms`, order: i }
          : {
            top: `${f.lane * LINE_PX + 8}px`,
            animationDuration: `${DURATION_MS}ms`,
            "--from": `${f.from}px`,
            "--to": `${-f.width}px`,
          };
        return (
          <span key={f.comment.id} class="danmaku-item" dir="auto" style={style} data-testid="danmaku-comment"
            data-comment-id={f.comment.id} title={moderator ? t("comments.clickToHide") : undefined}
            onAnimationEnd={() => setList(flyingRef.current.filter((x) => x.comment.id !== f.comment.id))}
            onClick={moderator ? () => void room.comments.hide(f.comment.id).catch((err: unknown) => room.toast("error", describeError(err))) : undefined}>
            {f.comment.sender.id === state.selfId ? <span class="danmaku-self">{f.comment.text}</span> : f.comment.text}
          </span>
        );
      })}
    </div>
  );
}
