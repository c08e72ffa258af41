#!/usr/bin/env node
// Parse and validate Adaptive Cards with the official adaptivecards JS library, without a DOM.
//
// stdin:  JSON array of {"label": string, "card": object}
// argv:   [node_modules directory] (optional; defaults to normal module resolution)
// stdout: JSON array of {"label": string, "message": string}, one entry per problem
// Exit status is 0 whenever the batch was processed, so the caller only has to read stdout.
"use strict";

const path = require("path");

// The package "main" pulls in browser-only code and fails on Node 20; the UMD bundle does not.
const BUNDLE = "adaptivecards/dist/adaptivecards.js";

function loadLibrary(nodeModules) {
    return require(nodeModules ? path.join(path.resolve(nodeModules), BUNDLE) : BUNDLE);
}

function readStdin() {
    return require("fs").readFileSync(0, "utf8");
}

function describeSource(AC, source) {
    // Naming the offending object (type and id) makes a message findable in a large card.
    if (!source || typeof source.getJsonTypeName !== "function") {
        return "";
    }
    const id = source.id ? `#${source.id}` : "";
    return ` [${source.getJsonTypeName()}${id}]`;
}

function formatEvent(AC, phase, event) {
    const name = AC.ValidationEvent[event.event] || String(event.event);
    return `${phase} ${name}: ${event.message}${describeSource(AC, event.source)}`;
}

// Teams charts are unknown to this library, which says so and renders the element's fallback:
// that is what a client without charts shows, so a chart with an element as fallback is expected
// to be unknown here, and one without any is reported (the client would show nothing).
const CHART = /^Chart\./;

function chartsIn(node, found) {
    if (Array.isArray(node)) {
        node.forEach((item) => chartsIn(item, found));
    } else if (node && typeof node === "object") {
        if (typeof node.type === "string" && CHART.test(node.type)) {
            found.push(node);
        }
        Object.values(node).forEach((value) => chartsIn(value, found));
    }
    return found;
}

function hasChart(node) {
    return chartsIn(node, []).length > 0;
}

function checkCard(AC, target, json) {
    const messages = [];
    const charts = chartsIn(json, []);
    let expectedUnknown = 0;
    for (const chart of charts) {
        const fallback = chart.fallback;
        if (fallback && typeof fallback === "object" && !Array.isArray(fallback)) {
            expectedUnknown += 1;
        } else {
            messages.push(`chart ${chart.type} has no fallback element: clients without charts show nothing`);
        }
    }
    // Teams renders cards as schema 1.5; the library defaults to its latest (1.6), which would
    // silently accept 1.6-only properties and card versions that Teams would reject.
    const context = new AC.SerializationContext(target);
    const card = new AC.AdaptiveCard();
    card.maxVersion = target;
    try {
        card.parse(json, context);
    } catch (err) {
        return [`parse threw: ${err && err.message ? err.message : String(err)}`];
    }
    // Parse-time events (unknown types, bad enum values, properties newer than the target
    // version) live only on the serialization context; validateProperties() does not repeat them.
    for (let i = 0; i < context.eventCount; i++) {
        const event = context.getEventAt(i);
        const chartUnknown =
            event.event === AC.ValidationEvent.UnknownElementType &&
            /"Chart\.[\w.]+"/.test(event.message);
        if (chartUnknown && expectedUnknown > 0) {
            expectedUnknown -= 1; // this chart's fallback is rendered in its place
            continue;
        }
        messages.push(formatEvent(AC, "parse", event));
    }
    if (charts.length && hasChart(card.toJSON())) {
        messages.push("a chart survived parsing: its fallback was not rendered in its place");
    }
    let results;
    try {
        results = card.validateProperties();
    } catch (err) {
        messages.push(`validate threw: ${err && err.message ? err.message : String(err)}`);
        return messages;
    }
    for (const event of results.validationEvents) {
        messages.push(formatEvent(AC, "validate", event));
    }
    return messages;
}

function main() {
    // stdout carries the JSON result only; anything the library logs goes to stderr instead.
    console.log = console.error;
    const AC = loadLibrary(process.argv[2]);
    const target = AC.Versions.v1_5;
    const items = JSON.parse(readStdin());
    if (!Array.isArray(items)) {
        throw new Error("stdin must be a JSON array of {label, card}");
    }
    const problems = [];
    for (const item of items) {
        const label = String(item.label);
        if (item.card === null || typeof item.card !== "object" || Array.isArray(item.card)) {
            problems.push({ label, message: "card is not a JSON object" });
            continue;
        }
        for (const message of checkCard(AC, target, item.card)) {
            problems.push({ label, message });
        }
    }
    process.stdout.write(JSON.stringify(problems));
}

main();
