/**
 * SDP rewrites the engine applies before setLocalDescription.
 *
 * answerAsDtlsServer: Janus offers `a=setup:actpass`; browsers answer `active` (they become the
 * DTLS client). Janus 1.1.2 sometimes drops the client's first ClientHello when it arrives before
 * its DTLS context is ready, and the browser resends only after ~1 s: about 1 join in 10 waited a
 * second for the first frame. Answering `passive` makes Janus the DTLS client; it sends its
 * ClientHello once ready, and the stall is gone (benchmarks/README.md, "DTLS roles").
 */
export function answerAsDtlsServer(sdp: string): string {
  return sdp.replace(/^a=setup:active\r?$/gm, (line) =>
    line.replace("active", "passive"),
  );
}
