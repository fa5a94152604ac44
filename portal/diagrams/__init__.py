"""Architecture pictures of a service and of the platform, drawn as inline SVG on the server.

Our own SVG rather than graphviz: no binary to install, a fixed layout that reads the same every
time, text that stays crisp and selectable at any width, and nothing for the browser to run.
Every string in a picture (names, outputs from AWS) goes through svg.py, which escapes it.
"""
