#!/usr/bin/python3
"""Assembles the servable site and the widget's npm package from the sources and the wasm build.

build/site (what `digits serve` or any static host serves):
  - the entry points that pages and embedders name keep their names (index.html, embed.*,
    digit-recognizer.js, digits.js): a host revalidates them (Cache-Control: no-cache);
  - every file they load gets a content-hashed name (digits.<hash>.wasm, ink.<hash>.js, ...), and
    the entry points' imports, URLs and preload hints name those: a host may cache them for a year
    (immutable), and a new model or build is never served stale, since its name changes;
  - the plain names stay beside them for hosts and pages that name them (the `wasm` and `model`
    options, ?model=, the tests);
  - each file that compresses gets .gz and .br variants made here, once (a host picks one by the
    request's Accept-Encoding; `digits serve` never compresses per request).

build/package (what `npm pack` packs): the widget's files under their plain names (a bundler hashes
them itself), its types, package.json, the npm README (web/package-README.md) and the LICENSE.

Usage: assemble_site.py --web DIR --wasm-dir DIR --model FILE --license FILE --site DIR
                        --package DIR
"""
import argparse
import gzip
import hashlib
import os
import re
import shutil
import sys
import tempfile

import brotli  # Debian's python3-brotli (scripts/setup)

# Loaded by the entry points, hashed leaves first: a file's hash covers its rewritten references.
HASHED = ['digits.wasm', 'digits.safetensors', 'digits.mjs', 'icon.svg', 'style.css', 'ink.js',
          'app.js']
ENTRIES = ['digits.js', 'digit-recognizer.js', 'embed.js', 'embed.css', 'index.html', 'embed.html']
PACKAGE = ['digit-recognizer.js', 'digit-recognizer.d.ts', 'digits.js', 'digits.d.ts', 'ink.js',
           'digits.mjs', 'digits.wasm', 'digits.safetensors', 'package.json']
# Compressed variants are kept only when they save at least this fraction (a PNG would not).
MIN_SAVING = 0.05
# A relative reference in a module, a stylesheet or the HTML: './name' or "./name".
REFERENCE = re.compile(r"""(['"])\./([A-Za-z0-9_.-]+)\1""")


def hashed_name(name, data):
    stem, ext = name.split('.', 1)
    return f'{stem}.{hashlib.sha256(data).hexdigest()[:10]}.{ext}'


def rewrite(data, renamed):
    """The file's references to renamed files, renamed (text files only)."""
    def sub(m):
        return f'{m.group(1)}./{renamed.get(m.group(2), m.group(2))}{m.group(1)}'
    return REFERENCE.sub(sub, data.decode('utf-8')).encode('utf-8')


def is_text(name):
    return name.endswith(('.js', '.mjs', '.css', '.html', '.svg'))


def compress(path):
    with open(path, 'rb') as f:
        data = f.read()
    variants = {'.gz': gzip.compress(data, 9, mtime=0), '.br': brotli.compress(data, quality=11)}
    for suffix, packed in variants.items():
        if len(packed) <= len(data) * (1 - MIN_SAVING):
            with open(path + suffix, 'wb') as f:
                f.write(packed)


def assemble_site(sources, out):
    renamed = {}
    files = {}
    for name in HASHED:
        data = sources[name]
        if is_text(name):
            data = rewrite(data, renamed)
        unknown = [m.group(2) for m in REFERENCE.finditer(data.decode('utf-8', 'replace'))
                   if m.group(2) in HASHED and m.group(2) not in renamed] if is_text(name) else []
        if unknown:
            sys.exit(f'assemble_site.py: {name} refers to {unknown} hashed after it: reorder HASHED')
        renamed[name] = hashed_name(name, data)
        files[renamed[name]] = data
    for name, data in sources.items():
        if name in ENTRIES:
            data = rewrite(data, renamed)
        files[name] = data  # the entries rewritten; the others under their plain names too
    for name, data in files.items():
        path = os.path.join(out, name)
        with open(path, 'wb') as f:
            f.write(data)
        if not name.endswith('.png'):
            compress(path)
    return renamed


def replace_dir(build, final):
    """Swaps `build` in for `final` (no stale hashed files survive a rebuild)."""
    old = final + '.old'
    shutil.rmtree(old, ignore_errors=True)
    if os.path.exists(final):
        os.rename(final, old)
    os.rename(build, final)
    shutil.rmtree(old, ignore_errors=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--web', required=True)
    parser.add_argument('--wasm-dir', required=True)
    parser.add_argument('--model', required=True)
    parser.add_argument('--license', required=True)
    parser.add_argument('--site', required=True)
    parser.add_argument('--package', required=True)
    args = parser.parse_args()

    def read(path):
        with open(path, 'rb') as f:
            return f.read()

    # The page and the widget: every .html, .js, .css and .svg of web/ (the types go to the package).
    sources = {name: read(os.path.join(args.web, name)) for name in sorted(os.listdir(args.web))
               if name.endswith(('.html', '.js', '.css', '.svg'))}
    sources['digits.mjs'] = read(os.path.join(args.wasm_dir, 'digits.mjs'))
    sources['digits.wasm'] = read(os.path.join(args.wasm_dir, 'digits.wasm'))
    sources['digits.safetensors'] = read(args.model)
    missing = [n for n in HASHED + ENTRIES if n not in sources]
    if missing:
        sys.exit(f'assemble_site.py: missing {missing}')

    for final in (args.site, args.package):
        os.makedirs(os.path.dirname(os.path.abspath(final)), exist_ok=True)
    site = tempfile.mkdtemp(prefix='.site-', dir=os.path.dirname(os.path.abspath(args.site)))
    os.chmod(site, 0o755)
    renamed = assemble_site(sources, site)
    replace_dir(site, args.site)

    package = tempfile.mkdtemp(prefix='.package-',
                               dir=os.path.dirname(os.path.abspath(args.package)))
    os.chmod(package, 0o755)
    for name in PACKAGE:
        data = sources[name] if name in sources else read(os.path.join(args.web, name))
        with open(os.path.join(package, name), 'wb') as f:
            f.write(data)
    shutil.copyfile(os.path.join(args.web, 'package-README.md'),
                    os.path.join(package, 'README.md'))
    shutil.copyfile(args.license, os.path.join(package, 'LICENSE'))
    replace_dir(package, args.package)
    print(f'assemble_site.py: {args.site} ({", ".join(renamed.values())}), {args.package}')


if __name__ == '__main__':
    main()
