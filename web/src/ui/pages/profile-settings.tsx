/**
 * The account part of /settings: display name and password (on the server), and this browser's
 * own choices: the devices a meeting starts with, and the theme.
 */
import { useEffect, useState } from "preact/hooks";
import { t as translate } from "../../i18n";
import { useT } from "../../i18n/hook";
import { useAction } from "../hooks";
import { defaultDevices, saveDefaultDevices, theme, THEMES, useTheme, type DefaultDevices, type Theme } from "../prefs";
import { rest, session, useSession } from "../session";

export function ProfileSection() {
  const t = useT();
  const info = useSession();
  const [name, setName] = useState(info?.user.display_name ?? "");
  const [saved, setSaved] = useState(false);
  const { busy, error, setError, run } = useAction();

  const save = async (ev: Event) => {
    ev.preventDefault();
    setSaved(false);
    if (!name.trim()) {
      setError(translate("profile.nameRequired"));
      return;
    }
    await run(async () => {
      const user = await rest.updateMe({ display_name: name.trim() });
      const current = session.value;
      if (current) session.set({ ...current, user });
      setName(user.display_name);
      setSaved(true);
    });
  };

  return (
    <form class="card form" onSubmit={save} aria-labelledby="profile-title" data-testid="profile-settings">
      <h2 id="profile-title">{t("profile.title")}</h2>
      <label>
        {t("profile.displayName")}
        <input type="text" autoComplete="name" required maxLength={64} value={name} data-testid="profile-display-name"
          aria-describedby="profile-name-hint" onInput={(e) => { setName(e.currentTarget.value); setSaved(false); }} />
        <span class="hint" id="profile-name-hint">{t("profile.displayNameHint")}</span>
      </label>
      {error && <p class="error" role="alert" data-testid="profile-error">{error}</p>}
      <div class="row">
        <button type="submit" class="btn primary" disabled={busy} data-testid="profile-save">
          {busy ? t("settings.saving") : t("settings.save")}
        </button>
        {saved && <span class="muted small" role="status" data-testid="profile-saved">{t("settings.saved")}</span>}
      </div>
    </form>
  );
}

export function PasswordSection() {
  const t = useT();
  const [current, setCurrent] = useState("");
  const [next, setNext] = useState("");
  const [again, setAgain] = useState("");
  const [done, setDone] = useState(false);
  const { busy, error, setError, run } = useAction();

  const save = async (ev: Event) => {
    ev.preventDefault();
    setDone(false);
    if (next.length < 8) {
      setError(translate("auth.passwordTooShort"));
      return;
    }
    if (next !== again) {
      setError(translate("reset.mismatch"));
      return;
    }
    await run(async () => {
      session.set(await rest.changePassword({ current_password: current, new_password: next }));
      setCurrent("");
      setNext("");
      setAgain("");
      setDone(true);
    });
  };

  return (
    <form class="card form" onSubmit={save} aria-labelledby="password-title" data-testid="password-settings">
      <h2 id="password-title">{t("profile.passwordTitle")}</h2>
      <label>
        {t("profile.currentPassword")}
        <input type="password" autoComplete="current-password" required maxLength={256} value={current}
          data-testid="password-current" onInput={(e) => setCurrent(e.currentTarget.value)} />
      </label>
      <label>
        {t("reset.newPassword")}
        <input type="password" autoComplete="new-password" required minLength={8} maxLength={256} value={next}
          data-testid="password-new" aria-describedby="password-new-hint" onInput={(e) => setNext(e.currentTarget.value)} />
        <span class="hint" id="password-new-hint">{t("profile.passwordHint")}</span>
      </label>
      <label>
        {t("reset.repeatPassword")}
        <input type="password" autoComplete="new-password" required maxLength={256} value={again}
          data-testid="password-again" onInput={(e) => setAgain(e.currentTarget.value)} />
      </label>
      {error && <p class="error" role="alert" data-testid="password-error">{error}</p>}
      <div class="row">
        <button type="submit" class="btn primary" disabled={busy} data-testid="password-save">
          {busy ? t("settings.saving") : t("profile.changePassword")}
        </button>
        {done && <span class="muted small" role="status" data-testid="password-changed">{t("profile.passwordChanged")}</span>}
      </div>
    </form>
  );
}

interface DeviceLists {
  microphones: MediaDeviceInfo[];
  cameras: MediaDeviceInfo[];
  speakers: MediaDeviceInfo[];
}

async function listDevices(): Promise<DeviceLists> {
  const lists: DeviceLists = { microphones: [], cameras: [], speakers: [] };
  if (!navigator.mediaDevices?.enumerateDevices) return lists;
  for (const d of await navigator.mediaDevices.enumerateDevices()) {
    // "default" and "communications" are the system's aliases, offered as "Default" already.
    if (!d.deviceId || d.deviceId === "default" || d.deviceId === "communications") continue;
    if (d.kind === "audioinput") lists.microphones.push(d);
    else if (d.kind === "videoinput") lists.cameras.push(d);
    else if (d.kind === "audiooutput") lists.speakers.push(d);
  }
  return lists;
}

function DeviceSelect({ label, testid, devices, value, fallback, onChange }: {
  label: string;
  testid: string;
  devices: MediaDeviceInfo[];
  value: string | null;
  fallback: (n: number) => string;
  onChange: (value: string | null) => void;
}) {
  const t = useT();
  const known = value === null || devices.some((d) => d.deviceId === value);
  return (
    <label>
      {label}
      <select value={value ?? ""} data-testid={testid} onChange={(e) => onChange(e.currentTarget.value || null)}>
        <option value="">{t("media.default")}</option>
        {!known && value && <option value={value}>{t("profile.devices.absent")}</option>}
        {devices.map((d, i) => (
          <option key={d.deviceId} value={d.deviceId} dir="auto">{d.label || fallback(i + 1)}</option>
        ))}
      </select>
    </label>
  );
}

export function DevicesSection() {
  const t = useT();
  const [lists, setLists] = useState<DeviceLists | null>(null);
  const [chosen, setChosen] = useState<DefaultDevices>(defaultDevices);
  const [saved, setSaved] = useState(false);
  const { busy, error, run } = useAction();
  const supported = typeof navigator !== "undefined" && !!navigator.mediaDevices?.enumerateDevices;

  useEffect(() => {
    if (!supported) return;
    const refresh = () => void listDevices().then(setLists, () => setLists({ microphones: [], cameras: [], speakers: [] }));
    refresh();
    navigator.mediaDevices.addEventListener?.("devicechange", refresh);
    return () => navigator.mediaDevices.removeEventListener?.("devicechange", refresh);
  }, []);

  // Browsers name devices only once the page may use them: ask, then let go at once.
  const allow = () =>
    run(async () => {
      const stream = await navigator.mediaDevices.getUserMedia({ audio: true, video: true });
      for (const track of stream.getTracks()) track.stop();
      setLists(await listDevices());
    }, () => translate("profile.devices.denied"));

  const update = (changes: Partial<DefaultDevices>) => {
    const next = { ...chosen, ...changes };
    setChosen(next);
    saveDefaultDevices(next);
    setSaved(true);
  };

  const unnamed = !!lists && [...lists.microphones, ...lists.cameras].some((d) => !d.label);
  return (
    <section class="card form" aria-labelledby="devices-title" data-testid="device-settings">
      <h2 id="devices-title">{t("profile.devices.title")}</h2>
      <p class="muted small">{t("profile.devices.hint")}</p>
      {!supported && <p class="muted small">{t("profile.devices.unsupported")}</p>}
      {supported && lists && (
        <>
          {unnamed && (
            <div class="row">
              <button type="button" class="btn" disabled={busy} data-testid="devices-allow" onClick={allow}>
                {t("profile.devices.showNames")}
              </button>
            </div>
          )}
          <DeviceSelect label={t("media.microphone")} testid="default-mic" devices={lists.microphones} value={chosen.mic}
            fallback={(n) => t("media.microphoneN", { n })} onChange={(mic) => update({ mic })} />
          <DeviceSelect label={t("media.camera")} testid="default-camera" devices={lists.cameras} value={chosen.camera}
            fallback={(n) => t("media.cameraN", { n })} onChange={(camera) => update({ camera })} />
          {lists.speakers.length > 0 ? (
            <DeviceSelect label={t("media.speaker")} testid="default-speaker" devices={lists.speakers} value={chosen.speaker}
              fallback={(n) => t("media.speakerN", { n })} onChange={(speaker) => update({ speaker })} />
          ) : (
            <p class="muted small">{t("profile.devices.noSpeakerChoice")}</p>
          )}
        </>
      )}
      {error && <p class="error" role="alert">{error}</p>}
      {saved && <p class="muted small" role="status" data-testid="devices-saved">{t("profile.devices.saved")}</p>}
    </section>
  );
}

const THEME_LABELS: Record<Theme, string> = {
  system: "profile.theme.system",
  light: "profile.theme.light",
  dark: "profile.theme.dark",
};

export function ThemeSection() {
  const t = useT();
  const current = useTheme();
  return (
    <section class="card form" aria-labelledby="theme-title" data-testid="theme-settings">
      <h2 id="theme-title">{t("profile.theme.title")}</h2>
      <fieldset class="theme-choice">
        <legend>{t("profile.theme.hint")}</legend>
        {THEMES.map((value) => (
          <label key={value} class="check">
            <input type="radio" name="theme" value={value} checked={current === value} data-testid={`theme-${value}`}
              onChange={() => theme.set(value)} />
            {t(THEME_LABELS[value])}
          </label>
        ))}
      </fieldset>
    </section>
  );
}
