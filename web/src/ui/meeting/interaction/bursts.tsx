/**
 * The audience's reactions as bursts over the stage: per emoji of a `reactions` count, a few
 * emoji float up (more and bigger for a bigger count) with "×120" beside a big one. With
 * prefers-reduced-motion a burst is one still emoji with its count that fades. Screen readers
 * hear nothing of it (a count every half second would drown the meeting).
 */
import { particlesFor, scaleFor, showsCount, BURST_MS, type Burst } from "../../../room/bursts";
import type { RoomState } from "../../../room/state";
import { useT } from "../../../i18n/hook";
import { useReducedMotion } from "./motion";
import "../emoji";
import "./interaction.css";

/** A stable spread for a burst's particles (the same on every render). */
function spread(key: number, i: number): number {
  const x = Math.sin(key * 12.9898 + i * 78.233) * 43758.5453;
  return x - Math.floor(x);
}

export function ReactionBursts({ state }: { state: RoomState }) {
  const t = useT();
  const reduced = useReducedMotion();
  if (state.bursts.length === 0) return null;
  return (
    <div class={`bursts ${reduced ? "still" : ""}`} aria-hidden="true" data-testid="reaction-bursts">
      {state.bursts.map((b, slot) => <BurstView key={b.key} burst={b} slot={slot} reduced={reduced}
        label={showsCount(b.count) ? t("reactions.times", { count: b.count }) : null} />)}
    </div>
  );
}

function BurstView({ burst, slot, reduced, label }: { burst: Burst; slot: number; reduced: boolean; label: string | null }) {
  const scale = scaleFor(burst.count);
  const n = reduced ? 1 : particlesFor(burst.count);
  // Bursts side by side along the bottom of the stage, physical left to right.
  const left = 8 + ((slot * 23 + Math.floor(spread(burst.key, 0) * 10)) % 80);
  return (
    <div class="burst" style={{ left: `${left}%`, "--scale": String(scale), animationDuration: `${BURST_MS}ms` }}
      data-testid="reaction-burst" data-emoji={burst.emoji} data-count={String(burst.count)}>
      {Array.from({ length: n }, (_, i) => (
        <span key={i} class="reaction burst-particle" style={{
          "--dx": `${Math.round((spread(burst.key, i + 1) - 0.5) * 80)}px`,
          animationDelay: reduced ? "0ms" : `${Math.round(spread(burst.key, i + 11) * 500)}ms`,
          animationDuration: `${BURST_MS - 500}ms`,
        }}>{burst.emoji}</span>
      ))}
      {label && <span class="burst-count" dir="ltr" data-testid="reaction-burst-count">{label}</span>}
    </div>
  );
}
