/**
 * The REST shapes of interpreters named ahead of time (docs/rest.md, "Interpreters"): the
 * meeting's owner lists accounts, or people by email, each with one target language or the two
 * languages of a bidirectional booth.
 */

/** One interpreter as the owner names them: `user_id` or `email`, not both. */
export interface InterpreterIn {
  user_id?: string;
  email?: string;
  /** null: the account's name. */
  display_name?: string | null;
  /** One target language, or two distinct ones (BCP 47). */
  languages: string[];
}

export interface Interpreter {
  id: string;
  /** The account named, or the one whose verified address `email` is (null while none has it). */
  user_id: string | null;
  /** null when named by account. */
  email: string | null;
  display_name: string | null;
  /** Sorted. */
  languages: string[];
  /** The booth they belong to: the languages joined by "-". */
  booth: string;
}

export interface InterpreterList {
  interpreters: Interpreter[];
}

/** The most interpreters a meeting names ahead of time. */
export const MAX_INTERPRETERS = 50;
