/**
 * WCAG 2.5.3 (label in name) in every language: where a control shows a short label and has a
 * longer accessible name (aria-label), the name contains the label, so a speech-input user who
 * says what they see reaches the control. The browser tests check this with axe in English and
 * Arabic; this checks the wording of all six catalogues.
 */
import { describe, expect, it } from "vitest";
import { LANGUAGES, loadAllCatalogues } from "../i18n";

/** [accessible name, visible label] of the controls that have both. */
const PAIRS: readonly [string, string][] = [
  ["meeting.invitePeople", "meeting.invite"],
  ["meeting.toSpeakerView", "meeting.speakerView"],
  ["meeting.toGridView", "meeting.gridView"],
  ["meeting.settings", "nav.settings"],
  ["shortcuts.title", "shortcuts.button"],
  ["view.options", "view.label"],
  ["panels.admitName", "panels.admit"],
  ["panels.denyName", "panels.deny"],
  ["home.deleteLabel", "home.delete"],
  ["occurrence.joinNamed", "join.join"],
];

const CATALOGUES = await loadAllCatalogues();

describe("visible labels are part of the accessible names", () => {
  for (const lang of LANGUAGES) {
    it(lang, () => {
      const catalogue = CATALOGUES[lang] as Record<string, string>;
      const mismatched = PAIRS.filter(([name, label]) => {
        const n = catalogue[name];
        const l = catalogue[label];
        return n === undefined || l === undefined || !n.toLocaleLowerCase(lang).includes(l.toLocaleLowerCase(lang));
      }).map(([name, label]) => `${name} "${catalogue[name]}" lacks ${label} "${catalogue[label]}"`);
      expect(mismatched).toEqual([]);
    });
  }
});
