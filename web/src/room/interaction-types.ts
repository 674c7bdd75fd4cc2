/** Audience interaction messages (bullet comments, reactions, Q&A, polls). */
import type { PersonRef } from "../protocol/types";

export interface Comment {
  id: string;
  sender: PersonRef;
  text: string;
  sent_at: string;
}
export interface CommentsBatch {
  items: Comment[];
  received: number;
  shown: number;
}
export interface CommentsHidden {
  ids: string[];
  by: PersonRef;
}
export interface CommentsUpdated {
  enabled: boolean;
  slow_mode_seconds: number;
}
export interface CommentsWords {
  words: string[];
}
export interface CommentsInfo {
  enabled?: boolean;
  slow_mode_seconds?: number;
  recent?: Comment[];
  words?: string[] | null;
}
export interface ReactionCounts {
  counts: Record<string, number>;
  interval_ms: number;
}

export interface QuestionAnswer {
  text?: string | null;
  by: PersonRef;
  at: string;
}
export interface Question {
  id: string;
  text: string;
  asker?: PersonRef | null;
  asked_at: string;
  votes?: number;
  state?: "open" | "answered" | "dismissed";
  answer?: QuestionAnswer | null;
  live?: boolean;
}
export interface QaInfo {
  enabled: boolean;
  anonymous: boolean;
}
export interface QaSnapshot {
  enabled?: boolean;
  anonymous?: boolean;
  questions?: Question[];
  voted?: string[];
  asked?: string[];
}

export interface Poll {
  id: string;
  question: string;
  options: string[];
  multiple: boolean;
  anonymous: boolean;
  state: "draft" | "open" | "closed";
  shared?: boolean;
  created_at: string;
  opened_at?: string | null;
  closed_at?: string | null;
  totals?: number[] | null;
  voters?: number | null;
}
export interface PollView extends Poll {
  my_choices?: number[];
}
