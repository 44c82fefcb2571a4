/**
 * Appends a run of one partition's messages to one stream, in one atomic step. Entry ids are
 * `<offset + 1>-0`: Redis refuses an id at or below the stream's last generated id, so a message
 * written before (a batch replayed after a crash or a lost partition) can never be written twice. The
 * script skips exactly those (the ids Redis would refuse) and counts them, which makes a replay a
 * success; it refuses, instead, a stream whose newest entry came from another topic, partition or
 * incarnation of the topic: skipping there would lose messages, not duplicates.
 *
 * KEYS[1] the stream; ARGV: topic, partition, incarnation, maxLen ('' for none), then per message its
 * offset + 1, its key ('' for none) and its body. Returns { written, skipped }.
 */
export const STREAM_APPEND_LUA = `
local stream = KEYS[1]
local topic, partition, incarnation, maxlen = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local last = 0
if redis.call('EXISTS', stream) == 1 then
  local info = redis.call('XINFO', 'STREAM', stream)
  local lastId, lastEntry
  for i = 1, #info, 2 do
    if info[i] == 'last-generated-id' then lastId = info[i + 1] end
    if info[i] == 'last-entry' then lastEntry = info[i + 1] end
  end
  if lastEntry and lastEntry[1] then
    local f = {}
    for i = 1, #lastEntry[2], 2 do f[lastEntry[2][i]] = lastEntry[2][i + 1] end
    if f['topic'] ~= topic or f['partition'] ~= partition then
      return redis.error_reply('TRIBUTARY_FOREIGN_STREAM its newest entry ' .. lastEntry[1] .. ' is not of ' .. topic .. '[' .. partition .. '] but of ' .. tostring(f['topic']) .. '[' .. tostring(f['partition']) .. ']')
    end
    if f['incarnation'] ~= incarnation then
      return redis.error_reply('TRIBUTARY_FOREIGN_STREAM it holds an earlier topic named ' .. topic .. ' (the topic was re-created); delete or rename the stream')
    end
  end
  last = tonumber(string.match(lastId, '^(%d+)-'))
end
local written, skipped = 0, 0
for i = 5, #ARGV, 3 do
  local n = tonumber(ARGV[i])
  if n <= last then
    skipped = skipped + 1
  else
    local args = { 'XADD', stream }
    if maxlen ~= '' then
      args[#args + 1] = 'MAXLEN'
      args[#args + 1] = '~'
      args[#args + 1] = maxlen
    end
    args[#args + 1] = ARGV[i] .. '-0'
    args[#args + 1] = 'topic'
    args[#args + 1] = topic
    args[#args + 1] = 'partition'
    args[#args + 1] = partition
    args[#args + 1] = 'incarnation'
    args[#args + 1] = incarnation
    if ARGV[i + 1] ~= '' then
      args[#args + 1] = 'key'
      args[#args + 1] = ARGV[i + 1]
    end
    args[#args + 1] = 'body'
    args[#args + 1] = ARGV[i + 2]
    redis.call(unpack(args))
    last = n
    written = written + 1
  end
end
return { written, skipped }
`;

/** The offset after the newest entry of a stream this sink wrote (entry id `<offset + 1>-0`), or undefined. */
export function nextOffsetOf(entryId: string): bigint | undefined {
  const match = /^(\d+)-0$/.exec(entryId);
  return match ? BigInt(match[1]) : undefined;
}
