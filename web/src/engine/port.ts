/** The part of the SignalingClient the media engine needs: typed requests only. */
import type { RequestOptions } from "../protocol/signaling";
import type { ReplyData, RequestData, RequestType } from "../protocol/types";

export interface SignalingPort {
  request<K extends RequestType>(type: K, data: RequestData<K>, options?: RequestOptions): Promise<ReplyData<K>>;
  /** Fire and forget (no id, no success reply); false when it could not be sent. */
  notify<K extends RequestType>(type: K, data: RequestData<K>): boolean;
}
