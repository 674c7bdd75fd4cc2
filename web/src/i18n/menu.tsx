/** The language menu: the six languages, each named in itself. */
import { LANGUAGES, LANGUAGE_NAMES, isLanguage, type Language } from "./index";
import { useLanguage, useT } from "./hook";

export function LanguageMenu({ value, onChange, testid, allowBrowser = false }: {
  /** Shown as chosen; defaults to the current language. null: "as in my browser". */
  value?: Language | null;
  onChange: (language: Language | null) => void;
  testid: string;
  /** Offer "as in my browser" (a signed-in user's setting can be cleared). */
  allowBrowser?: boolean;
}) {
  const t = useT();
  const current = useLanguage();
  const shown = value === undefined ? current : value;
  return (
    <label class="language-menu">
      <span class="language-menu-label">{t("language.label")}</span>
      <select data-testid={testid} value={shown ?? ""} title={t("language.menu")}
        onChange={(e) => {
          const chosen = e.currentTarget.value;
          onChange(isLanguage(chosen) ? chosen : null);
        }}>
        {allowBrowser && <option value="">{t("language.browser")}</option>}
        {LANGUAGES.map((l) => (
          // Each name in its own language and direction, whatever the page's.
          <option key={l} value={l} lang={l} dir="auto">{LANGUAGE_NAMES[l]}</option>
        ))}
      </select>
    </label>
  );
}
