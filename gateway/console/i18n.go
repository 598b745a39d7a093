package console

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
)

// The console's languages: English, and Simplified Chinese. A message's
// English text is its key; zh holds its Chinese. A test keeps every string
// of the pages and of the code translated.
const (
	langEN = "en"
	langZH = "zh-CN"
)

var langs = []string{langEN, langZH}

// pickLang is the language the person chose (the switch's cookie), else
// the first of the browser's languages the console has.
func pickLang(r *http.Request) string {
	if c, err := r.Cookie(langCookie); err == nil && (c.Value == langEN || c.Value == langZH) {
		return c.Value
	}
	for _, part := range strings.Split(r.Header.Get("Accept-Language"), ",") {
		tag, _, _ := strings.Cut(strings.TrimSpace(part), ";")
		tag = strings.ToLower(tag)
		switch {
		case strings.HasPrefix(tag, "zh"):
			return langZH
		case strings.HasPrefix(tag, "en"):
			return langEN
		}
	}
	return langEN
}

// tr translates s into lang; an untranslated s shows as itself.
func tr(lang, s string) string {
	if lang == langZH {
		if z, ok := zh()[s]; ok {
			return z
		}
	}
	return s
}

func trf(lang, f string, a ...any) string { return fmt.Sprintf(tr(lang, f), a...) }

// states lists the device states the devices page filters by.
func states() []string {
	return []string{"online", "offline", "pending", "active", "disabled", "retired", "configured"}
}

// zh is made at its first use, not when the package initialises: a map of
// some 250 entries is work and memory that every officegate command, console
// or not, would spend at its start.
var zh = sync.OnceValue(func() map[string]string {
	return map[string]string{
		"%d days ago":                       "%d 天前",
		"%d devices":                        "%d 台设备",
		"%d h ago":                          "%d 小时前",
		"%d min ago":                        "%d 分钟前",
		"%d s ago":                          "%d 秒前",
		"%s approved as %s.":                "%s 已批准为 %s。",
		"%s approved: the door opens.":      "已批准 %s：门已打开。",
		"%s is now the unit %s.":            "%s 现由设备 %s 担任。",
		"%s on %s: %s":                      "%[2]s 执行 %[1]s：%[3]s",
		"%s rejected.":                      "%s 已拒绝。",
		"%s renamed %q.":                    "%s 已改名为 %q。",
		"%s retired: its key is destroyed.": "%s 已退役：其密钥已销毁。",
		"Approve":                           "批准",
		"Approve as":                        "批准为",
		"Attempts":                          "尝试次数",
		"Back":                              "返回",
		"Badge":                             "胸卡",
		"Badge preview":                     "胸卡预览",
		"Booking":                           "预订",
		"Canaries (first devices)":          "金丝雀（最先的设备数）",
		"Check":                             "检查",
		"Close now":                         "立即关闭",
		"Closed: new units stay pending until approved.": "已关闭：新设备在批准前保持待定。",
		"Commands":                    "命令",
		"Company":                     "公司",
		"Configuration %s pushed: %s": "配置 %s 已推送：%s",
		"Data":                        "数据",
		"Deferrals":                   "推迟次数",
		"Device":                      "设备",
		"Devices":                     "设备",
		"Devices, canaries first":     "设备（金丝雀在前）",
		"Disk":                        "磁盘",
		"Drawn by your browser from the badge's layout (title, name, company, host, date, code), so Chinese names show as they print.": "由浏览器按胸卡版式（标题、姓名、公司、接待人、日期、二维码）绘制，中文姓名按打印效果显示。",
		"Enrollment":                       "注册",
		"Enrollment window":                "注册窗口",
		"Enrollment window closed.":        "注册窗口已关闭。",
		"Enrollment window open until":     "注册窗口开放至",
		"Enrollment window open until %s.": "注册窗口开放至 %s。",
		"Error":                            "错误",
		"Failed:":                          "失败：",
		"Filter":                           "筛选",
		"Firmware":                         "固件",
		"Firmware rollouts are not configured on this gateway (provisioning.firmware_key).": "此网关未配置固件升级（provisioning.firmware_key）。",
		"For":                 "时长",
		"Gateway health":      "网关状态",
		"Hardware id":         "硬件 ID",
		"Hardware id pattern": "硬件 ID 模式",
		"Host":                "接待人",
		"Host: ":              "接待人：",
		"Image":               "镜像",
		"Import":              "导入",
		"Import a manifest":   "导入清单",
		"In":                  "到达",
		"Journal backlog":     "日志积压",
		"Kind":                "类型",
		"Last seen":           "最后在线",
		"Light":               "指示灯",
		"Live events":         "实时事件",
		"Log in":              "登录",
		"Log out":             "退出",
		"Manage":              "管理",
		"Manifest (CSV)":      "清单（CSV）",
		"Manifest imported: %d approved, %d waiting for their unit, %d already done.": "清单已导入：%d 台已批准，%d 台等待设备上线，%d 台此前已完成。",
		"Model":                        "型号",
		"Model pattern":                "型号模式",
		"Name":                         "名称",
		"Name template":                "名称模板",
		"New unit's hardware id":       "新设备的硬件 ID",
		"Next":                         "下一页",
		"No device matches.":           "没有匹配的设备。",
		"No printer has reported yet.": "尚无打印机上报。",
		"No rollout yet.":              "尚无升级。",
		"No room has reported since the gateway started.":         "网关启动以来尚无会议室上报。",
		"No unit is waiting.":                                     "没有等待中的设备。",
		"No visitor yet today.":                                   "今天尚无访客。",
		"Nobody is waiting.":                                      "无人等待。",
		"None since the gateway started.":                         "网关启动以来没有。",
		"Nothing was imported. Fix these lines and import again:": "未导入任何内容。请修正以下各行后重新导入：",
		"Occupancy":                 "占用",
		"Open":                      "开放",
		"Open an enrollment window": "开放注册窗口",
		"Open for (ms)":             "开门时长（毫秒）",
		"Open: closes in":           "开放中：剩余",
		"Out":                       "离开",
		"Overview":                  "概览",
		"Password":                  "密码",
		"Pending units":             "待定设备",
		"Phase":                     "阶段",
		"Port":                      "端口",
		"Previous":                  "上一页",
		"Printers":                  "打印机",
		"Profile":                   "配置方案",
		"Pulse the door":            "开门",
		"Push configuration":        "推送配置",
		"Reason":                    "原因",
		"Recent events":             "最近事件",
		"Reception":                 "前台",
		"Refused":                   "已拒绝",
		"Refused: this form is stale or was not sent by the console. Reload the page and try again.": "已拒绝：此表单已过期或并非由控制台发出。请刷新页面后重试。",
		"Refused: your role (%s) may not do this; it needs %s.":                                      "已拒绝：您的角色（%s）无权执行此操作，需要 %s。",
		"Reject":                          "拒绝",
		"Release suggested":               "建议释放",
		"Rename":                          "改名",
		"Replace":                         "替换",
		"Retire":                          "退役",
		"Rollout %s started.":             "升级 %s 已开始。",
		"Rollouts":                        "升级",
		"Room":                            "房间",
		"Rooms":                           "会议室",
		"Search id, name, room, model":    "搜索 ID、名称、房间、型号",
		"Seen":                            "出现",
		"Signature (.sig)":                "签名（.sig）",
		"Sink":                            "输出",
		"Start":                           "开始",
		"Start a rollout":                 "开始升级",
		"Status":                          "状态",
		"Sync its clock":                  "同步时钟",
		"Time":                            "时间",
		"Times are in the gateway's zone": "时间均为网关所在时区",
		"Today's visitors":                "今日访客",
		"Too many failed logins: try again in 15 minutes.": "登录失败次数过多：请 15 分钟后再试。",
		"Type":                                  "类型",
		"Type the id to confirm":                "输入 ID 以确认",
		"Uplink":                                "上行链路",
		"User name":                             "用户名",
		"VISITOR":                               "访客",
		"Version":                               "版本",
		"Visitor":                               "访客",
		"Walk-ins waiting for approval":         "等待批准的临时访客",
		"Watchdog":                              "看门狗",
		"Wrong user name or password.":          "用户名或密码错误。",
		"Your session has ended: log in again.": "会话已结束：请重新登录。",
		"a walk-in needs the visitor's name and host": "临时访客需要填写姓名和接待人",
		"any kind":                               "任意类型",
		"any state":                              "任意状态",
		"approve within":                         "剩余批准时间",
		"choose a manifest file (CSV) to import": "请选择要导入的清单文件（CSV）",
		"choose the firmware image and its signature": "请选择固件镜像及其签名",
		"connected":                 "已连接",
		"disconnected":              "已断开",
		"connection lost; retrying": "连接中断，正在重试",
		"events were missed (this page fell behind); reload to see them all": "有事件未显示（页面跟不上）；刷新页面可查看全部",
		"device %s has no configuration profile":                             "设备 %s 没有配置方案",
		"device id":                                                          "设备 ID",
		"door open time %q: want 100 to 10000 ms":                            "开门时长 %q：应为 100 至 10000 毫秒",
		"free":                    "可用",
		"full":                    "已满",
		"in the building":         "在楼内",
		"just now":                "刚刚",
		"line":                    "第",
		"live":                    "实时",
		"no such command %q here": "此处没有命令 %q",
		"off: not started by a service manager that asks for pings":             "关闭：未由要求心跳的服务管理器启动",
		"stalled: pings withheld, the service manager will restart the gateway": "停滞：已停止心跳，服务管理器将重启网关",
		"pinging: the pipeline makes progress":                                  "心跳正常：处理管道在推进",
		"People":                                                                "人员",
		"Sinks":                                                                 "输出目标",
		"This gateway has no person directory.":                                 "此网关没有人员目录。",
		"search: id, name, employee number":                                     "搜索：编号、姓名、工号",
		"Search":                                                                "搜索",
		"%d of %d people":                                                       "%d / %d 人",
		"Person":                                                                "人员编号",
		"Employee number":                                                       "工号",
		"Language":                                                              "语言",
		"Card hash":                                                             "卡号哈希",
		"Platform ids":                                                          "平台账号",
		"Updated":                                                               "更新于",
		"Remove":                                                                "移除",
		"Nobody matches.":                                                       "没有匹配的人员。",
		"Import people":                                                         "导入人员",
		"A CSV with the header person,card,name,lang,dingtalk,wecom,feishu,employee (card: its hash, or the number, hashed at once): every bad line is named and nothing is applied until the file is clean.": "CSV 文件，表头为 person,card,name,lang,dingtalk,wecom,feishu,employee（card：卡号哈希，或卡号，导入时即哈希）：每个错误行都会列出，文件无误之前不会应用任何内容。",
		"People (CSV)": "人员文件（CSV）",
		"Replace the whole directory (people not in the file are removed)": "替换整个目录（文件中没有的人员将被移除）",
		"choose a people file (CSV) to import":                             "请选择要导入的人员文件（CSV）",
		"People imported: %d added, %d updated, %d unchanged, %d removed.": "人员已导入：新增 %d，更新 %d，未变 %d，移除 %d。",
		"name the person to remove":                                        "请指定要移除的人员",
		"%s removed from the directory.":                                   "%s 已从目录中移除。",
		"Still dead letters after the replay:":                             "重放后仍为死信：",
		"Backlog":                                                          "积压",
		"Oldest":                                                           "最早",
		"Delivered":                                                        "已投递",
		"Retries":                                                          "重试",
		"Dead letters":                                                     "死信",
		"Last error":                                                       "最近错误",
		"backlog alarm":                                                    "积压告警",
		"delivering":                                                       "投递正常",
		"Replay dead letters":                                              "重放死信",
		"No sink besides the MQTT uplink is configured.":                   "除 MQTT 上行外未配置输出目标。",
		"name the sink whose dead letters to replay":                       "请指定要重放死信的输出目标",
		"Replay of %s: %d delivered, %d still dead letters.":               "%s 重放：已投递 %d，仍有死信 %d。",
		"Replay of %s: %d delivered.":                                      "%s 重放：已投递 %d。",
		"No booking now":                                                   "当前无预订",
		"Next booking":                                                     "下一个预订",
		"No booking after this one":                                        "之后没有预订",
		"no event since the gateway started":                               "网关启动以来无事件",
		"checked":                                                          "检查于",
		"failing":                                                          "投递失败",
		"oldest":                                                           "最早",
		"page %d of %d":                                                    "第 %d 页，共 %d 页",
		"paused while you scroll; back to the top to resume": "滚动时暂停；回到顶部继续",
		"punches today":                        "今日打卡",
		"records":                              "条记录",
		"room":                                 "房间",
		"since":                                "自",
		"to retire %s, type its id to confirm": "要退役 %s，请输入其 ID 确认",
		"type, e.g. visitor. or attendance.punch": "类型，如 visitor. 或 attendance.punch",
		"until":                                 "至",
		"visitors today":                        "今日访客",
		"window length %q: want e.g. 10m or 1h": "窗口时长 %q：应如 10m 或 1h",

		// Values from the gateway shown as words: roles, states, outcomes.
		"viewer": "查看者", "operator": "操作员", "admin": "管理员",
		"online": "在线", "offline": "离线", "pending": "待定", "active": "已启用", "disabled": "已停用",
		"retired": "已退役", "configured": "配置文件设备",
		"ok": "成功", "error": "错误", "expired": "已过期", "unsupported": "不支持", "busy": "忙",
		"applied": "已应用", "unchanged": "未变化", "rejected": "被拒绝", "timeout": "超时", "failed": "失败",
		"waiting": "等待中", "deferred": "已推迟", "transferring": "传输中", "testing": "试运行", "confirmed": "已确认",
		"rolled_back": "已回滚", "running": "进行中", "done": "已完成", "halted": "已中止",
		"available": "空闲", "occupied": "占用", "vacant": "无人", "unknown": "未知",
		"paper_end": "缺纸", "paper_near_end": "纸将用完", "cover_open": "盖子打开",
		"synced": "已同步", "drifted": "已漂移", "Clock": "时钟",
		"qr": "扫码", "approved": "人工批准", "not_yet_valid": "尚未生效", "revoked": "已撤销",
	}
})
