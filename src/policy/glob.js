/**
 * Globs over tool and server names: `*` matches any run of characters (including none), `?`
 * exactly one, everything else itself. Matching is whole-name and case-sensitive. Compiled to an
 * RE2 program, so a hostile name cannot make matching slow.
 */
import { RE2JS } from 're2js';
export function compileGlob(source) {
    const literal = !/[*?]/.test(source);
    if (literal)
        return { source, literal, test: (name) => name === source };
    let re = '';
    for (const ch of source) {
        if (ch === '*')
            re += '.*';
        else if (ch === '?')
            re += '.';
        else
            re += RE2JS.quote(ch);
    }
    const program = RE2JS.compile(`^(?s:${re})$`);
    return { source, literal, test: (name) => program.matches(name) };
}
