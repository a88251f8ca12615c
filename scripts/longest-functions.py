#!/usr/bin/env python3
"""Lists the longest functions under src/ (lines from `fn` to its closing brace), longest first.

Usage: scripts/longest-functions.py [N] [DIR]  (default 10, src). Counts lines as written,
comments and blank lines included; strings and comments are skipped when matching braces.
"""
import os
import re
import sys

FN = re.compile(r'^\s*(pub(\([^)]*\))?\s+)?(const\s+)?(async\s+)?(unsafe\s+)?fn\s+(\w+)')


def strip(line, state):
    """The line without string literals and comments; `state` carries a block comment across lines."""
    out, i = [], 0
    while i < len(line):
        if state['block']:
            j = line.find('*/', i)
            if j < 0:
                return ''.join(out)
            state['block'], i = False, j + 2
        elif line.startswith('//', i):
            break
        elif line.startswith('/*', i):
            state['block'], i = True, i + 2
        elif line[i] == '"':
            j = i + 1
            while j < len(line) and line[j] != '"':
                j += 2 if line[j] == '\\' else 1
            i = j + 1
        elif line[i] == "'" and i + 2 < len(line) and (line[i + 2] == "'" or line[i + 1] == '\\'):
            j = line.find("'", i + 2)
            i = (j + 1) if j > 0 else i + 1
        else:
            out.append(line[i])
            i += 1
    return ''.join(out)


def functions(path):
    lines = open(path, encoding='utf-8').read().splitlines()
    state, found, i = {'block': False}, [], 0
    while i < len(lines):
        m = FN.match(lines[i])
        if not m:
            i += 1
            continue
        depth, opened, j = 0, False, i
        while j < len(lines):
            code = strip(lines[j], state)
            if not opened and ';' in code and '{' not in code:
                break  # a declaration without a body
            depth += code.count('{') - code.count('}')
            opened = opened or '{' in code
            if opened and depth <= 0:
                found.append((j - i + 1, f'{path}:{i + 1}', m.group(6)))
                break
            j += 1
        i += 1
    return found


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 10
    root = sys.argv[2] if len(sys.argv) > 2 else 'src'
    all_fns = []
    for d, _, files in os.walk(root):
        for f in files:
            if f.endswith('.rs'):
                all_fns += functions(os.path.join(d, f))
    for length, where, name in sorted(all_fns, key=lambda t: (-t[0], t[1]))[:n]:
        print(f'{length:5}  {name:32} {where}')


if __name__ == '__main__':
    main()
