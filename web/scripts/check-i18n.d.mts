/** Findings in one file: [line, what ("text" or the attribute), the literal]. */
export function check(path: string, source?: string): [number, string, string][];
