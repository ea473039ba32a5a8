wrk.method='POST'
wrk.body='{"token":"enat_GB_vEdILkKVcvRs8kPoV6LlqxgJoC1gJIMuHD0qsvuY"}'
wrk.headers['Content-Type']='application/json'
