// Status timeline: one chip per phase with its duration. Open phases are counted here,
// in the browser, so the clock keeps moving while the kernel is busy with another cell.
import { el, formatSeconds, type Phase, TERMINAL } from "./types";

/** Seconds a "starting" phase may last before the view explains the wait. */
export const COLD_BOOT_AFTER = 5;

/** Said only when the backend says the model's process is starting for this run. */
export const COLD_BOOT =
  "Cold boot: the backend is starting the model's process; its setup runs once, and the next runs start at once.";
/** Said otherwise: the wait may be a queue as well as a boot. */
export const STILL_STARTING =
  "Still starting: the backend has not begun running it yet. It may be busy with other predictions or loading the model; on Replicate this can take a few minutes.";

const LABELS: Record<string, string> = {
  starting: "Starting",
  processing: "Processing",
  succeeded: "Succeeded",
  failed: "Failed",
  canceled: "Canceled",
  aborted: "Aborted",
};

export class TimelineView {
  readonly root = el("div", "rw-timeline");
  readonly hint = el("div", "rw-starting-hint");
  /** The backend says the model's process is starting for this prediction. */
  booting = false;
  private phases: Phase[] = [];
  private receivedAt = 0;
  private chips: HTMLElement[] = [];
  private stopped = false;

  constructor(private readonly now: () => number = () => performance.now()) {
    this.hint.hidden = true;
  }

  /** Stop counting: nobody reports on this prediction any more (no kernel). */
  stop(): void {
    this.tick();
    this.stopped = true;
    this.hint.hidden = true;
  }

  update(phases: Phase[]): void {
    this.phases = phases ?? [];
    this.receivedAt = this.now();
    this.root.replaceChildren();
    this.chips = this.phases.map((phase, i) => {
      const chip = el("span", `rw-phase rw-phase-${phase.status}`);
      chip.dataset.status = phase.status;
      if (i > 0) this.root.append(el("span", "rw-arrow", "→"));
      this.root.append(chip);
      return chip;
    });
    this.tick();
  }

  /** Refresh the durations; called by the view's timer. */
  tick(): void {
    if (this.stopped) return;
    const extra = (this.now() - this.receivedAt) / 1000;
    this.phases.forEach((phase, i) => {
      const chip = this.chips[i];
      const label = LABELS[phase.status] ?? phase.status;
      if (TERMINAL.has(phase.status)) {
        chip.textContent = label;
        return;
      }
      const seconds = phase.seconds + (phase.open ? extra : 0);
      chip.textContent = `${label} ${formatSeconds(seconds)}`;
      chip.dataset.seconds = seconds.toFixed(1);
    });
    const last = this.phases[this.phases.length - 1];
    this.hint.hidden = !(
      last &&
      last.status === "starting" &&
      last.open &&
      last.seconds + extra >= COLD_BOOT_AFTER
    );
    this.hint.dataset.kind = this.booting ? "cold-boot" : "waiting";
    this.hint.textContent = this.booting ? COLD_BOOT : STILL_STARTING;
  }
}
