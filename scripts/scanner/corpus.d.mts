// Types of the corpus loader's helpers, for the tests that use them.
export function shortExcerpt(text: string, id: string): string | undefined;
