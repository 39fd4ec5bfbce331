#!/usr/bin/with-contenv bashio
# shellcheck shell=bash
# The add-on's one process (with-contenv: it sees SUPERVISOR_TOKEN and TZ). `smart-bedroom addon`
# reads /data/options.json and asks the Supervisor for the MQTT broker itself
# (integration/addon.py); a problem is one line in the add-on's log and exit code 1.
exec smart-bedroom addon
