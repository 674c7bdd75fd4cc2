/**
 * LocalMedia: this participant's microphone and camera, and the choice of devices.
 *
 * Used by the join page for the preview and then handed to the MediaEngine, so the tracks the
 * person saw before joining are the ones that are published.
 *
 * - Microphone off = `track.enabled = false` (the track stays, so unmuting is instant).
 * - Camera off = the track is stopped (the camera light goes out) and the sender sends nothing.
 */
import { t } from "../i18n";
import { Emitter } from "../protocol/emitter";
import { CAMERA_CAPTURE } from "./simulcast";

export interface DeviceLists {
  microphones: MediaDeviceInfo[];
  cameras: MediaDeviceInfo[];
  speakers: MediaDeviceInfo[];
}

export interface LocalState {
  micOn: boolean;
  cameraOn: boolean;
  audioTrack: MediaStreamTrack | null;
  videoTrack: MediaStreamTrack | null;
  micDeviceId: string | null;
  cameraDeviceId: string | null;
  speakerDeviceId: string | null;
  /** The last failure to open a device, for people ("Camera permission was denied."). */
  error: string | null;
}

export interface LocalMediaEvents {
  change: LocalState;
  /** A track object was replaced (device switch, camera on/off): senders must follow. */
  track: { kind: "audio" | "video"; track: MediaStreamTrack | null };
}

const STORAGE_KEY = "convene.devices";

interface StoredChoice {
  mic?: string;
  camera?: string;
  speaker?: string;
}

function loadChoice(): StoredChoice {
  try {
    const raw = globalThis.localStorage?.getItem(STORAGE_KEY);
    return raw ? (JSON.parse(raw) as StoredChoice) : {};
  } catch {
    return {};
  }
}

function saveChoice(choice: StoredChoice): void {
  try {
    globalThis.localStorage?.setItem(STORAGE_KEY, JSON.stringify(choice));
  } catch {
    // Private browsing: the choice just isn't remembered.
  }
}

/** A short explanation of a getUserMedia failure, in the UI's language. */
export function describeMediaError(kind: "microphone" | "camera" | "screen", err: unknown): string {
  const name = err instanceof DOMException || err instanceof Error ? err.name : "";
  switch (name) {
    case "NotAllowedError":
    case "SecurityError":
      return t(`media.error.${kind}.denied`);
    case "NotFoundError":
    case "OverconstrainedError":
      return t(`media.error.${kind}.notFound`);
    case "NotReadableError":
    case "AbortError":
      return t(`media.error.${kind}.inUse`);
    default:
      return t(`media.error.${kind}.failed`);
  }
}

export class LocalMedia extends Emitter<LocalMediaEvents> {
  private audio: MediaStreamTrack | null = null;
  private video: MediaStreamTrack | null = null;
  private micOn = false;
  private cameraOn = false;
  private error: string | null = null;
  private choice: StoredChoice = loadChoice();
  private readonly previewStream = typeof MediaStream !== "undefined" ? new MediaStream() : null;

  get state(): LocalState {
    return {
      micOn: this.micOn,
      cameraOn: this.cameraOn,
      audioTrack: this.audio,
      videoTrack: this.video,
      micDeviceId: this.choice.mic ?? null,
      cameraDeviceId: this.choice.camera ?? null,
      speakerDeviceId: this.choice.speaker ?? null,
      error: this.error,
    };
  }

  /** A stream holding the current camera track, for a self view `<video>`. */
  get stream(): MediaStream | null {
    return this.previewStream;
  }

  static supported(): boolean {
    return typeof navigator !== "undefined" && !!navigator.mediaDevices?.getUserMedia;
  }

  async devices(): Promise<DeviceLists> {
    const lists: DeviceLists = { microphones: [], cameras: [], speakers: [] };
    if (!navigator.mediaDevices?.enumerateDevices) return lists;
    const all = await navigator.mediaDevices.enumerateDevices();
    for (const d of all) {
      if (d.kind === "audioinput") lists.microphones.push(d);
      else if (d.kind === "videoinput") lists.cameras.push(d);
      else if (d.kind === "audiooutput") lists.speakers.push(d);
    }
    return lists;
  }

  /** Turns the microphone on or off; the first time on asks for permission. */
  async setMic(on: boolean): Promise<void> {
    if (on && (!this.audio || this.audio.readyState === "ended")) {
      const track = await this.open("audio", this.choice.mic);
      if (!track) return;
      this.setTrack("audio", track);
    }
    this.micOn = on;
    if (this.audio) this.audio.enabled = on;
    this.changed();
  }

  /** Turns the camera on (opening it) or off (stopping it). */
  async setCamera(on: boolean): Promise<void> {
    if (on) {
      if (!this.video || this.video.readyState === "ended") {
        const track = await this.open("video", this.choice.camera);
        if (!track) return;
        this.setTrack("video", track);
      }
      this.cameraOn = true;
    } else {
      this.cameraOn = false;
      this.setTrack("video", null);
    }
    this.changed();
  }

  async selectMic(deviceId: string): Promise<void> {
    this.choice = { ...this.choice, mic: deviceId };
    saveChoice(this.choice);
    if (this.audio) {
      const track = await this.open("audio", deviceId);
      if (track) {
        track.enabled = this.micOn;
        this.setTrack("audio", track);
      }
    }
    this.changed();
  }

  async selectCamera(deviceId: string): Promise<void> {
    this.choice = { ...this.choice, camera: deviceId };
    saveChoice(this.choice);
    if (this.cameraOn) {
      const track = await this.open("video", deviceId);
      if (track) this.setTrack("video", track);
    }
    this.changed();
  }

  /** Output device for remote audio (applied by the UI with HTMLMediaElement.setSinkId). */
  selectSpeaker(deviceId: string): void {
    this.choice = { ...this.choice, speaker: deviceId };
    saveChoice(this.choice);
    this.changed();
  }

  /** Stops every device. */
  stop(): void {
    this.setTrack("audio", null);
    this.setTrack("video", null);
    this.micOn = false;
    this.cameraOn = false;
    this.changed();
  }

  private async open(kind: "audio" | "video", deviceId: string | undefined): Promise<MediaStreamTrack | null> {
    if (!LocalMedia.supported()) {
      this.error = t("media.error.insecure");
      this.changed();
      return null;
    }
    const device = deviceId ? { deviceId: { ideal: deviceId } } : {};
    const constraints: MediaStreamConstraints =
      kind === "audio"
        ? { audio: { ...device, echoCancellation: true, noiseSuppression: true, autoGainControl: true } }
        : {
            video: {
              ...device,
              width: { ideal: CAMERA_CAPTURE.width },
              height: { ideal: CAMERA_CAPTURE.height },
              frameRate: { ideal: CAMERA_CAPTURE.frameRate },
            },
          };
    try {
      const stream = await navigator.mediaDevices.getUserMedia(constraints);
      const track = kind === "audio" ? stream.getAudioTracks()[0] : stream.getVideoTracks()[0];
      this.error = null;
      return track ?? null;
    } catch (err) {
      this.error = describeMediaError(kind === "audio" ? "microphone" : "camera", err);
      this.changed();
      return null;
    }
  }

  private setTrack(kind: "audio" | "video", track: MediaStreamTrack | null): void {
    const old = kind === "audio" ? this.audio : this.video;
    if (old === track) return;
    if (old) {
      old.stop();
      this.previewStream?.removeTrack(old);
    }
    if (kind === "audio") this.audio = track;
    else this.video = track;
    if (track) {
      this.previewStream?.addTrack(track);
      track.addEventListener("ended", () => {
        // Unplugged or revoked: show it as off rather than as a frozen picture.
        if ((kind === "audio" ? this.audio : this.video) !== track) return;
        if (kind === "video") void this.setCamera(false);
        else {
          this.micOn = false;
          this.setTrack("audio", null);
          this.changed();
        }
      });
    }
    this.emit("track", { kind, track });
  }

  private changed(): void {
    this.emit("change", this.state);
  }
}
