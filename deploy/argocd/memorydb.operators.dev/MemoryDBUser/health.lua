-- Argo CD health check for memorydb.operators.dev/MemoryDBUser (Lua 5.1 subset, as Argo CD runs it).
--   Healthy      Ready=True, status observed for the current generation, MemoryDB reports active.
--   Progressing  not yet reconciled, stale observedGeneration, Ready=False with Creating, Modifying
--                or Deleting, Ready=Unknown, or a transient AWS fault being retried.
--   Degraded     Ready=False for any other reason: an error only a person can fix (a missing
--                Secret, a bad password, a name owned by someone else, a rejected parameter, a
--                quota, missing IAM permissions). The operator keeps retrying some of them, and the
--                resource turns Healthy on its own once the cause is fixed.
local hs = {}

local progressingReasons = { Creating = true, Modifying = true, Deleting = true }

-- Faults the operator retries with backoff and that clear by themselves (src/aws/faults.ts).
local transientReasons = {
  ThrottlingException = true, Throttling = true, ThrottledException = true,
  TooManyRequestsException = true, RequestLimitExceeded = true, InternalFailure = true,
  InternalServerError = true, ServiceUnavailable = true, ServiceUnavailableException = true,
  InvalidUserStateFault = true, RequestTimeout = true, RequestTimeoutException = true,
  TimeoutError = true, NetworkingError = true, ECONNRESET = true, ECONNREFUSED = true,
  ETIMEDOUT = true, EPIPE = true, EAI_AGAIN = true, ECONNABORTED = true, UND_ERR_SOCKET = true
}

local function findCondition(conditions, conditionType)
  if conditions == nil then
    return nil
  end
  for _, condition in ipairs(conditions) do
    if condition.type == conditionType then
      return condition
    end
  end
  return nil
end

local function describe(condition, fallback)
  if condition ~= nil and condition.message ~= nil and condition.message ~= "" then
    if condition.reason ~= nil and condition.reason ~= "" then
      return condition.reason .. ": " .. condition.message
    end
    return condition.message
  end
  if condition ~= nil and condition.reason ~= nil and condition.reason ~= "" then
    return condition.reason
  end
  return fallback
end

local metadata = obj.metadata or {}
local status = obj.status

if metadata.deletionTimestamp ~= nil then
  hs.status = "Progressing"
  hs.message = "Deleting: the operator is removing the MemoryDB user (or releasing it if retained)"
  return hs
end

if status == nil or status.conditions == nil then
  hs.status = "Progressing"
  hs.message = "Waiting for the operator to reconcile the resource"
  return hs
end

local generation = metadata.generation
if generation ~= nil and (status.observedGeneration == nil or status.observedGeneration < generation) then
  hs.status = "Progressing"
  hs.message = string.format("Waiting for the operator to observe generation %d", generation)
  return hs
end

local ready = findCondition(status.conditions, "Ready")
local synced = findCondition(status.conditions, "Synced")

if ready == nil or ready.status == "Unknown" then
  hs.status = "Progressing"
  hs.message = describe(ready, "Waiting for the Ready condition")
  return hs
end

if generation ~= nil and ready.observedGeneration ~= nil and ready.observedGeneration < generation then
  hs.status = "Progressing"
  hs.message = string.format("Waiting for the operator to observe generation %d", generation)
  return hs
end

if ready.status == "True" then
  if status.status ~= nil and status.status ~= "active" then
    hs.status = "Progressing"
    hs.message = "MemoryDB reports the user as " .. status.status
    return hs
  end
  hs.status = "Healthy"
  hs.message = "The MemoryDB user is active"
  if ready.message ~= nil and ready.message ~= "" then
    hs.message = ready.message
  end
  -- A passing fault keeps Ready=True; say so without alarming.
  if synced ~= nil and synced.status == "False" then
    hs.message = hs.message .. " (last reconcile failed, retrying: " .. describe(synced, "unknown error") .. ")"
  end
  return hs
end

if progressingReasons[ready.reason] or transientReasons[ready.reason] then
  hs.status = "Progressing"
  hs.message = describe(ready, "Waiting for MemoryDB")
  return hs
end

hs.status = "Degraded"
hs.message = describe(ready, "The MemoryDB user is not ready")
return hs
