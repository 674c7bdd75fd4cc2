import { useState } from "preact/hooks";
import { browserZone } from "../../scheduling/time";
import { useAction } from "../hooks";
import { linkHandler, navigate } from "../router";
import { rest, session } from "../session";
import { Brand } from "./common";

export function SignInPage({ next }: { next: string | null }) {
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const { busy, error, run } = useAction();

  const submit = async (ev: Event) => {
    ev.preventDefault();
    await run(async () => {
      session.set(await rest.signIn({ email: email.trim(), password }));
      navigate(next ?? "/", { replace: true });
    });
  };

  return (
    <div class="page narrow">
      <Brand />
      <form class="card form" onSubmit={submit} data-testid="signin-form" aria-labelledby="signin-title">
        <h1 id="signin-title">Sign in</h1>
        <label>
          Email
          <input type="email" autoComplete="email" required value={email} data-testid="signin-email"
            onInput={(e) => setEmail(e.currentTarget.value)} />
        </label>
        <label>
          Password
          <input type="password" autoComplete="current-password" required value={password} data-testid="signin-password"
            onInput={(e) => setPassword(e.currentTarget.value)} />
        </label>
        {error && <p class="error" role="alert" data-testid="signin-error">{error}</p>}
        <button class="btn primary" type="submit" disabled={busy} data-testid="signin-submit">
          {busy ? "Signing in…" : "Sign in"}
        </button>
        <p class="muted">
          No account?{" "}
          <a href={`/signup${next ? `?next=${encodeURIComponent(next)}` : ""}`} onClick={linkHandler(`/signup${next ? `?next=${encodeURIComponent(next)}` : ""}`)}>
            Sign up
          </a>
        </p>
      </form>
    </div>
  );
}

export function SignUpPage({ next }: { next: string | null }) {
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [displayName, setDisplayName] = useState("");
  const { busy, error, setError, run } = useAction();

  const submit = async (ev: Event) => {
    ev.preventDefault();
    if (password.length < 8) {
      setError("The password needs at least 8 characters.");
      return;
    }
    await run(async () => {
      session.set(await rest.signUp({ email: email.trim(), password, display_name: displayName.trim() }));
      // A new account starts in the browser's time zone (changeable in Settings); the server
      // alone cannot know it.
      await rest.updateCalendarSettings({ timezone: browserZone() }).catch(() => undefined);
      navigate(next ?? "/", { replace: true });
    });
  };

  return (
    <div class="page narrow">
      <Brand />
      <form class="card form" onSubmit={submit} data-testid="signup-form" aria-labelledby="signup-title">
        <h1 id="signup-title">Create an account</h1>
        <label>
          Your name
          <input type="text" autoComplete="name" required maxLength={64} value={displayName} data-testid="signup-display-name"
            onInput={(e) => setDisplayName(e.currentTarget.value)} />
        </label>
        <label>
          Email
          <input type="email" autoComplete="email" required value={email} data-testid="signup-email"
            onInput={(e) => setEmail(e.currentTarget.value)} />
        </label>
        <label>
          Password
          <input type="password" autoComplete="new-password" required minLength={8} maxLength={256} value={password}
            data-testid="signup-password" aria-describedby="signup-password-hint"
            onInput={(e) => setPassword(e.currentTarget.value)} />
          <span class="hint" id="signup-password-hint">At least 8 characters.</span>
        </label>
        {error && <p class="error" role="alert" data-testid="signup-error">{error}</p>}
        <button class="btn primary" type="submit" disabled={busy} data-testid="signup-submit">
          {busy ? "Creating…" : "Sign up"}
        </button>
        <p class="muted">
          Have an account?{" "}
          <a href={`/signin${next ? `?next=${encodeURIComponent(next)}` : ""}`} onClick={linkHandler(`/signin${next ? `?next=${encodeURIComponent(next)}` : ""}`)}>
            Sign in
          </a>
        </p>
      </form>
    </div>
  );
}
