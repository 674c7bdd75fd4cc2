import { linkHandler } from "../router";

export function Brand() {
  return (
    <a class="brand" href="/" onClick={linkHandler("/")} aria-label="Convene home">
      <span class="brand-mark" aria-hidden="true" />
      Convene
    </a>
  );
}

export function Spinner({ label }: { label: string }) {
  return (
    <div class="spinner-wrap" role="status" aria-live="polite">
      <span class="spinner" aria-hidden="true" />
      <span>{label}</span>
    </div>
  );
}
