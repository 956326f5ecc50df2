#!/usr/bin/env node
import { createApp } from "../lib/app.ts";

createApp().app.synth();
