import { describe, expect, it } from "vitest";
import { check } from "../../scripts/check-i18n.mjs";

const findings = (source: string) => check("example.tsx", source).map(([, what, text]) => [what, text]);

describe("check-i18n", () => {
  it("reports JSX text and read-aloud attributes written in the code", () => {
    const source = `
      export const A = () => (
        <div title="Hello" aria-label={"Close"}>
          Join now
          {"Leave"}
          <input placeholder={\`Your name\`} alt="" />
        </div>
      );`;
    expect(findings(source)).toEqual([
      ["title", "Hello"],
      ["aria-label", "Close"],
      ["text", "Join now"],
      ["text", "Leave"],
      ["placeholder", "Your name"],
    ]);
  });

  it("lets catalogue lookups, symbols and marked literals through", () => {
    const source = `
      export const B = ({ t }: { t: (k: string) => string }) => (
        <p aria-label={t("a.b")} data-testid="x-y">
          {t("join.join")} · {"×"} 123
          {/* i18n-ignore: the product's name */}
          Convene
        </p>
      );`;
    expect(findings(source)).toEqual([]);
  });
});
