-- wrk script: POST /v1/prompts with the built-in writer.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local ideas = {
  "a beach sunset", "a red fox in the snow at dusk", "portrait of an old sailor, oil painting",
  "a lighthouse in a storm", "a cozy cafe on a rainy night", "a dragon made of autumn leaves",
}
local i = 0
request = function()
  i = i + 1
  local body = '{"idea": "' .. ideas[(i % #ideas) + 1] .. '", "target": "sd", "seed": ' .. i .. '}'
  return wrk.format(nil, "/v1/prompts", nil, body)
end
