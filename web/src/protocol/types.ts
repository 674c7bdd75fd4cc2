/**
 * Helper types over the generated protocol types (types.gen.ts), indexed by message type.
 *
 *     RequestData<"chat.send">  -> ChatSend       (what the client sends)
 *     ReplyData<"chat.send">    -> ChatSendReply  (what the reply carries)
 *     EventData<"chat.message"> -> ChatMessage    (what an event carries)
 */
import type { ConveneProtocol, ErrorBody } from "./types.gen";

export type * from "./types.gen";

export type Requests = ConveneProtocol["requests"];
export type RequestType = keyof Requests;
export type RequestData<K extends RequestType> = Requests[K]["data"];
export type ReplyData<K extends RequestType> = Requests[K]["reply"];

export type Events = ConveneProtocol["events"];
export type EventType = keyof Events;
export type EventData<K extends EventType> = Events[K];

/** A message as it arrives from the server, before it is routed. */
export type ServerMessage =
  | { id: string; type: "reply"; data: unknown }
  | { id?: string; type: "error"; error: ErrorBody }
  | { id?: undefined; type: EventType; data: unknown };

/** Roles and sources, named once for the rest of the client. */
export type Role = ConveneProtocol["events"]["participant.joined"]["participant"]["role"];
export type Source = ConveneProtocol["events"]["feed.added"]["feed"]["source"];
export type PeerConnectionName = ConveneProtocol["requests"]["trickle"]["data"]["pc"];
export type CloseReason = ConveneProtocol["events"]["closed"]["reason"];
export type ModerationAction = ConveneProtocol["events"]["moderated"]["action"];
