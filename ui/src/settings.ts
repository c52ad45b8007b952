// The org's settings in a window: the lock date, read once and kept current
// by the core's `settings` event.

import { useEffect, useState } from "react";
import * as ipc from "./ipc";
import type { OrgSettings, Row } from "./types";

const NONE: OrgSettings = { lock_date: null, lock_message: null };

export function useOrgSettings(): OrgSettings {
  const [settings, setSettings] = useState<OrgSettings>(NONE);
  useEffect(() => {
    let cancelled = false;
    ipc.orgSettings().then((s) => !cancelled && setSettings(s), () => {});
    const stop = ipc.effectListener(ipc.onSettings((s) => !cancelled && setSettings(s)));
    return () => {
      cancelled = true;
      stop();
    };
  }, []);
  return settings;
}

/** Whether `row` is in the locked period (its day on or before the lock date). */
export function isLocked(row: Pick<Row, "occurred_on">, settings: OrgSettings): boolean {
  return settings.lock_date !== null && row.occurred_on <= settings.lock_date;
}
