import { describe, expect, it } from "vitest";
import { RestClient } from "./rest";
import { ClientErrorCode, RestError } from "./errors";

interface Call {
  url: string;
  init: RequestInit | undefined;
}

function fakeFetch(responses: Response[]): { calls: Call[]; fetch: (url: string, init?: RequestInit) => Promise<Response> } {
  const calls: Call[] = [];
  return {
    calls,
    fetch: async (url, init) => {
      calls.push({ url, init });
      const next = responses.shift();
      if (!next) throw new TypeError("network down");
      return next;
    },
  };
}

const json = (status: number, body: unknown): Response =>
  new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json" } });

const session = { user: { id: "u1", email: "a@example.org", display_name: "Ada", created_at: "x" }, csrf_token: "tok1" };

describe("RestClient", () => {
  it("sends the CSRF token from the session on unsafe methods only", async () => {
    const f = fakeFetch([json(200, session), json(200, { meetings: [] }), json(201, { id: "m1" })]);
    const rest = new RestClient({ fetch: f.fetch });
    await rest.session();
    await rest.listMeetings();
    await rest.createMeeting({ title: "Standup" });
    const headers = (i: number) => (f.calls[i]?.init?.headers ?? {}) as Record<string, string>;
    expect(f.calls[1]?.url).toBe("/api/v1/meetings");
    expect(headers(1)["X-CSRF-Token"]).toBeUndefined();
    expect(f.calls[2]?.init?.method).toBe("POST");
    expect(headers(2)["X-CSRF-Token"]).toBe("tok1");
    expect(f.calls[2]?.init?.body).toBe(JSON.stringify({ title: "Standup" }));
  });

  it("asks for the UI's language when given one", async () => {
    const f = fakeFetch([json(200, { meetings: [] }), json(200, { meetings: [] })]);
    let lang = "fr";
    const rest = new RestClient({ fetch: f.fetch, language: () => lang });
    await rest.listMeetings();
    lang = "ar";
    await rest.listMeetings();
    const headers = (i: number) => (f.calls[i]?.init?.headers ?? {}) as Record<string, string>;
    expect(headers(0)["Accept-Language"]).toBe("fr");
    expect(headers(1)["Accept-Language"]).toBe("ar");
  });

  it("maps the error shape to RestError", async () => {
    const f = fakeFetch([
      json(401, { error: { code: "invalid_credentials", message: "Email or password is wrong.", details: {} } }),
    ]);
    const rest = new RestClient({ fetch: f.fetch });
    const err = await rest.signIn({ email: "a@example.org", password: "x" }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RestError);
    expect(err).toMatchObject({ status: 401, code: "invalid_credentials", message: "Email or password is wrong." });
  });

  it("returns null for a signed-out session", async () => {
    const f = fakeFetch([json(401, { error: { code: "auth_required", message: "Sign in.", details: {} } })]);
    await expect(new RestClient({ fetch: f.fetch }).session()).resolves.toBeNull();
  });

  it("refreshes the session once after csrf_failed", async () => {
    const f = fakeFetch([
      json(200, session),
      json(403, { error: { code: "csrf_failed", message: "CSRF", details: {} } }),
      json(200, { ...session, csrf_token: "tok2" }),
      new Response(null, { status: 204 }),
    ]);
    const rest = new RestClient({ fetch: f.fetch });
    await rest.session();
    await rest.deleteMeeting("m1");
    const last = f.calls[3]?.init?.headers as Record<string, string>;
    expect(last["X-CSRF-Token"]).toBe("tok2");
  });

  it("reports network failures with a client code", async () => {
    const rest = new RestClient({ fetch: fakeFetch([]).fetch });
    await expect(rest.getMeeting("123456789")).rejects.toMatchObject({ status: 0, code: ClientErrorCode.Network });
  });
});
