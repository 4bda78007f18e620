"""bench/compare's pieces: the machine, measuring a command, the DIB side (its virtualenv,
host packages and stand-ins), the dibdo side (package proxy, remote cache), the test
element, the scenarios, and the report (markdown, JSON, PNG)."""
