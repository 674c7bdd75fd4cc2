import { describe, expect, it } from "vitest";
import { SignalingError } from "../protocol/errors";
import type { Comment, PollView, Question } from "../protocol/types";
import { initialComments } from "./comments";
import { CommentActions, PollActions, QaActions, commentRefusal, retryAfterOf, type InteractionPort } from "./interaction";
import { initialPolls } from "./polls";
import { initialQa } from "./qa";

const ME = { id: "p-me", display_name: "Me" };

function port(reply: (type: string, data: unknown) => unknown) {
  const sent: [string, unknown][] = [];
  const state = { comments: initialComments(), qa: initialQa(), polls: initialPolls() };
  const p: InteractionPort = {
    comments: () => state.comments,
    qa: () => state.qa,
    polls: () => state.polls,
    selfId: () => ME.id,
    setComments: (c) => { state.comments = c; },
    setQa: (q) => { state.qa = q; },
    setPolls: (x) => { state.polls = x; },
    request: (async (type: string, data: unknown) => {
      sent.push([type, data]);
      return reply(type, data);
    }) as InteractionPort["request"],
  };
  return { port: p, state, sent };
}

const comment: Comment = { id: "c1", sender: ME, text: "hi", sent_at: "2026-01-01T10:00:00Z" };

describe("interaction requests", () => {
  it("shows one's own comment at once and says why one was refused", async () => {
    const ok = port(() => ({ comment }));
    expect(await new CommentActions(ok.port).send("hi")).toBeNull();
    expect(ok.state.comments.incoming.map((i) => i.comment.id)).toEqual(["c1"]);
    expect(ok.state.comments.unshown).toBe(0);
    expect((ok.sent[0]?.[1] as { client_msg_id?: string }).client_msg_id).toMatch(/^c/);

    const refused = port(() => {
      throw new SignalingError("rate_limited", "slow down", { retry_after: 2.2 });
    });
    expect(await new CommentActions(refused.port).send("hi")).toEqual({ kind: "rate_limited", retryAfter: 3 });
    expect(commentRefusal(new SignalingError("comment_filtered", "no"))).toEqual({ kind: "filtered" });
    expect(commentRefusal(new SignalingError("comments_disabled", "off"))).toEqual({ kind: "disabled" });
    expect(commentRefusal(new Error("x")).kind).toBe("other");
    expect(retryAfterOf(new SignalingError("rate_limited", "", {}))).toBe(1);
    expect(retryAfterOf(new SignalingError("forbidden", ""))).toBeNull();
  });

  it("takes the word list from the settings reply", async () => {
    const p = port(() => ({ enabled: true, slow_mode_seconds: 5, words: ["spam"] }));
    await new CommentActions(p.port).settings({ words: ["Spam"] });
    expect(p.state.comments).toMatchObject({ enabled: true, slowModeSeconds: 5, words: ["spam"] });
  });

  it("votes at once and takes the vote back when refused (but not when it was already so)", async () => {
    const refused = port(() => {
      throw new SignalingError("forbidden", "own question");
    });
    await expect(new QaActions(refused.port).vote("q1", true)).rejects.toThrow("own question");
    expect(refused.state.qa.voted.has("q1")).toBe(false);
    const twice = port(() => {
      throw new SignalingError("invalid_state", "already voted");
    });
    await new QaActions(twice.port).vote("q1", true);
    expect(twice.state.qa.voted.has("q1")).toBe(true);
  });

  it("knows an anonymous question of one's own from the ask reply", async () => {
    const question: Question = {
      id: "q9", text: "Why?", asker: null, asked_at: "2026-01-01T10:00:00Z", votes: 0, state: "open", answer: null, live: false,
    };
    const p = port(() => ({ question }));
    await new QaActions(p.port).ask("Why?", true);
    expect(p.sent[0]).toEqual(["qa.ask", { text: "Why?", anonymous: true }]);
    expect(p.state.qa.mine.has("q9")).toBe(true);
  });

  it("pops no card up for the host's own steps", async () => {
    const poll: PollView = {
      id: "p2", question: "?", options: ["a", "b"], multiple: false, anonymous: false, state: "open", shared: false,
      created_at: "2026-01-01T10:00:00Z", opened_at: null, closed_at: null, totals: [0, 0], voters: 0, my_choices: [],
    };
    const p = port(() => ({ poll }));
    await new PollActions(p.port).open("p2");
    expect(p.state.polls.card).toBeNull();
    expect(p.state.polls.polls.get("p2")?.state).toBe("open");
  });

  it("keeps one's poll choices from the vote reply", async () => {
    const poll: PollView = {
      id: "p1", question: "?", options: ["a", "b"], multiple: false, anonymous: false, state: "open", shared: false,
      created_at: "2026-01-01T10:00:00Z", opened_at: null, closed_at: null, totals: null, voters: null, my_choices: [1],
    };
    const p = port(() => ({ poll }));
    await new PollActions(p.port).vote("p1", [1]);
    expect(p.state.polls.choices.get("p1")).toEqual([1]);
    expect(p.state.polls.polls.get("p1")?.state).toBe("open");
  });
});
