/**
 * Chat text with its web links made clickable. Only http and https links become links, built as
 * elements (never as HTML), opened in a new tab without giving the page a handle on ours.
 */
import type { ComponentChildren } from "preact";

export type ChatPart = { kind: "text"; text: string } | { kind: "link"; text: string; href: string };

// A run of non-space characters that starts like a web address. Trailing punctuation that
// usually ends a sentence is not part of the link.
const CANDIDATE = /\b(?:https?:\/\/|www\.)[^\s<>"]+/gi;
const TRAILING = /[.,;:!?'")\]}>»”’]+$/;

/** A safe href for `text`, or null: http(s) only, with a host (www. gets https). */
export function safeHref(text: string): string | null {
  const candidate = /^www\./i.test(text) ? `https://${text}` : text;
  let url: URL;
  try {
    url = new URL(candidate);
  } catch {
    return null;
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") return null;
  if (!url.hostname) return null;
  return url.href;
}

/** Splits chat text into plain text and links. */
export function splitLinks(text: string): ChatPart[] {
  const parts: ChatPart[] = [];
  let last = 0;
  for (const match of text.matchAll(CANDIDATE)) {
    let raw = match[0];
    const start = match.index;
    // Keep a closing bracket that belongs to the link: "(see https://x/a_(b))".
    const trail = TRAILING.exec(raw)?.[0] ?? "";
    if (trail) raw = raw.slice(0, raw.length - trail.length);
    const href = raw ? safeHref(raw) : null;
    if (!href) continue;
    if (start > last) parts.push({ kind: "text", text: text.slice(last, start) });
    parts.push({ kind: "link", text: raw, href });
    last = start + raw.length;
  }
  if (last < text.length) parts.push({ kind: "text", text: text.slice(last) });
  return parts;
}

export function ChatText({ text }: { text: string }): ComponentChildren {
  return splitLinks(text).map((part, i) =>
    part.kind === "text" ? (
      part.text
    ) : (
      <a key={i} href={part.href} target="_blank" rel="noopener noreferrer" data-testid="chat-link" dir="ltr">
        {part.text}
      </a>
    ),
  );
}
