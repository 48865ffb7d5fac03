// Logging: winston, JSON by default or a readable text format; secrets are redacted by
// construction (Redacted values and sensitive field names never reach a transport).
import winston from "winston";
import type { LogFormat, LogLevel } from "../config.ts";
import { redactDeep } from "../redacted.ts";

export type Logger = winston.Logger;

const redact = winston.format((info) => {
  for (const key of Object.keys(info)) {
    if (key === "level" || key === "message") continue;
    const value = (info as Record<string, unknown>)[key];
    (info as Record<string, unknown>)[key] = value instanceof Error ? errorFields(value) : redactDeep(value);
  }
  return info;
});

/** Errors are logged as their name and message: stacks and AWS request metadata stay out. */
function errorFields(err: Error): Record<string, unknown> {
  return { name: err.name, message: err.message };
}

const text = winston.format.printf((info) => {
  const { level, message, timestamp, key, ...rest } = info as Record<string, unknown>;
  const meta = Object.keys(rest).length > 0 ? ` ${JSON.stringify(rest)}` : "";
  return `${String(timestamp)} ${String(level).toUpperCase().padEnd(5)} ${key ? `[${String(key)}] ` : ""}${String(message)}${meta}`;
});

export function createLogger(options: {
  level: LogLevel;
  format: LogFormat;
  /** Where lines go; default stdout. Tests pass a stream to capture them. */
  stream?: NodeJS.WritableStream;
}): Logger {
  const transport = options.stream ? new winston.transports.Stream({ stream: options.stream }) : new winston.transports.Console();
  const logger = winston.createLogger({
    level: options.level,
    format: winston.format.combine(redact(), winston.format.timestamp(), options.format === "json" ? winston.format.json() : text),
    transports: [transport],
  });
  // winston formats every message (redaction, timestamp, JSON) before its transport drops those
  // below the level: a debug line cost as much as a written one. Below the level, the methods do
  // nothing (child loggers inherit them).
  for (const level of Object.keys(logger.levels)) {
    if (!logger.isLevelEnabled(level))
      (logger as unknown as Record<string, (this: Logger) => Logger>)[level] = function (this: Logger) {
        return this;
      };
  }
  return logger;
}
