import { describe, expect, it } from "vitest";
import { answerAsDtlsServer } from "./sdp";

describe("answerAsDtlsServer", () => {
  it("turns every a=setup:active into passive and leaves the rest alone", () => {
    const sdp =
      "v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=setup:active\r\na=mid:0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=setup:active\r\n";
    expect(answerAsDtlsServer(sdp)).toBe(
      sdp.replaceAll("a=setup:active", "a=setup:passive"),
    );
  });
  it("keeps an answer that is already passive", () => {
    const sdp = "v=0\r\na=setup:passive\r\n";
    expect(answerAsDtlsServer(sdp)).toBe(sdp);
  });
});
