/** The language part of /settings: kept on the server, so it follows the user to every device. */
import { useState } from "preact/hooks";
import { useT } from "../../i18n/hook";
import { LanguageMenu } from "../../i18n/menu";
import { useAction } from "../hooks";
import { calendarSettings, useCalendarSettings } from "../prefs";
import { rest } from "../session";

export function LanguageSection() {
  const t = useT();
  const settings = useCalendarSettings();
  const { busy, error, run } = useAction();
  const [saved, setSaved] = useState(false);
  return (
    <section class="card form" aria-labelledby="language-title" data-testid="language-settings">
      <h2 id="language-title">{t("language.label")}</h2>
      <p class="muted small" id="language-hint">{t("settings.language.hint")}</p>
      <fieldset disabled={busy || !settings}>
        <LanguageMenu testid="settings-language" allowBrowser value={settings?.language ?? null}
          onChange={(chosen) => {
            setSaved(false);
            void run(async () => {
              calendarSettings.set(await rest.updateCalendarSettings({ language: chosen }));
              setSaved(true);
            });
          }} />
      </fieldset>
      {saved && <p class="muted small" role="status" data-testid="language-saved">{t("settings.language.saved")}</p>}
      {error && <p class="error" role="alert">{error}</p>}
    </section>
  );
}
