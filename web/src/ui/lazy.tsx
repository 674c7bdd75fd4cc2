/**
 * Code loaded when first needed: the scheduling pages and dialog stay out of the bundle that a
 * meeting link loads.
 */
import type { ComponentType } from "preact";
import { useEffect, useState } from "preact/hooks";
import { useT } from "../i18n/hook";
import { Spinner } from "./pages/common";

export function lazy<P extends object>(load: () => Promise<ComponentType<P>>): ComponentType<P> {
  let loaded: ComponentType<P> | null = null;
  let pending: Promise<ComponentType<P>> | null = null;
  return function Lazy(props: P) {
    const [Component, setComponent] = useState<ComponentType<P> | null>(() => loaded);
    const [failed, setFailed] = useState(false);
    const t = useT();
    useEffect(() => {
      if (Component) return;
      pending ??= load().then((c) => (loaded = c));
      pending.then(
        (c) => setComponent(() => c),
        () => {
          pending = null;
          setFailed(true);
        },
      );
    }, []);
    if (failed) return <p class="error" role="alert">{t("lazy.failed")}</p>;
    return Component ? <Component {...props} /> : <Spinner label={t("common.loading")} />;
  };
}
