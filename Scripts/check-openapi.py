#!/usr/bin/env python3
"""Checks, without building swift-openapi-generator, that Sources/FunnelHTTP/Generated was made from the
current openapi.yaml and generator configuration: Scripts/generate-openapi embeds both in
Generated/OpenAPIDocument.swift (the document is served from there), so an edit to either without a
regeneration shows as a difference. Exit 1 naming the stale input."""
import pathlib
import sys

root = pathlib.Path(__file__).resolve().parent.parent
http = root / "Sources" / "FunnelHTTP"
embedded = (http / "Generated" / "OpenAPIDocument.swift").read_text()
problems = []
document = (http / "openapi.yaml").read_text()
start = embedded.find('#"""\n')
end = embedded.find('\n"""#', start)
if start < 0 or end < 0 or embedded[start + 5:end] + "\n" != document:
    problems.append("openapi.yaml")
config = (http / "openapi-generator-config.yaml").read_text()
marker = "// Generator configuration: "
lines = [line[len(marker):] for line in embedded.splitlines() if line.startswith(marker)]
if lines != config.strip().splitlines():
    problems.append("openapi-generator-config.yaml")
if problems:
    print(f"check-openapi: Sources/FunnelHTTP/Generated is stale for {', '.join(problems)}; run Scripts/generate-openapi",
          file=sys.stderr)
    sys.exit(1)
print("check-openapi: the generated JSON API was made from the current openapi.yaml and configuration")
