# Gatehouse 的全部用户可见文本（简体中文，默认语言）。
# Every user-facing text of Gatehouse, Simplified Chinese (the default language).
# Adding a language is adding a folder beside this one with the same keys;
# `cargo test i18n` fails when a key is missing or extra in any language.

language-name = 中文

## JSON API envelope and answers

ok = 操作成功
registered = 恭喜，注册成功！
signed-out = 已退出

## Error messages (`message` of an error envelope), one per `data.error` reason

error-captcha-invalid = 图形验证码错误或已过期
error-invalid-params = 参数错误
error-verify-code-invalid = 验证码错误或已过期
error-credentials-invalid = 账号或密码错误
error-account-exists = 该账号已注册
error-account-not-found = 账号不存在
error-account-disabled = 账号已被禁用
error-password-weak = 密码不符合要求：8 到 72 个字节，不能是常见密码，不能与账号相同
error-token-missing = 缺少令牌
error-token-invalid = 令牌无效
error-token-expired = 令牌已过期
error-token-revoked = 令牌已失效，请重新登录
error-token-audience = 该令牌签发给合作系统，不能用于此操作
error-refresh-window-passed = 令牌已超过可刷新时间，请重新登录
error-callback-not-registered = 回调地址未注册
error-client-auth-failed = 客户端认证失败
error-wechat-code-invalid = 微信登录凭证无效
error-word-info-invalid = word-info 无法解密
error-rate-limited = 操作过于频繁，请稍后再试
error-forbidden = 没有权限
error-not-found = 资源不存在
error-method-not-allowed = 请求方法不允许
error-payload-too-large = 请求体过大
error-conflict = 数据冲突: { $what }
error-unavailable = 服务暂不可用，请稍后再试
error-internal = 服务器内部错误

## The e-mail that carries a code

mail-purpose = { $purpose ->
    [signup] 注册
    [signin] 登录
    [reset_password] 重置密码
    [change_contact] 更换邮箱
   *[other] 身份验证
}
mail-subject = Gatehouse { mail-purpose }验证码
mail-greeting = 您好：
mail-intro = 您正在进行{ mail-purpose }，验证码是：
mail-validity = 验证码 { $minutes } 分钟内有效，只能使用一次。
mail-ignore = 如果这不是您本人的操作，请忽略这封邮件，不要把验证码告诉任何人。

## Pages

page-product = Gatehouse 统一登录
page-sign-in = 登录
page-sign-in-to = 登录以继续访问
page-tab-password = 密码登录
page-tab-code = 验证码登录
page-number = 手机号或邮箱
page-number-hint = 例如 13800138000 或 name@example.com
page-password = 密码
page-captcha = 图形验证码
page-captcha-refresh = 看不清？点击图片换一张
page-code = 验证码
page-send-code = 发送验证码
page-sign-up = 注册账号
page-forgot = 忘记密码
page-new-password = 新密码
page-old-password = 当前密码
page-username = 用户名（可选）
page-reset = 重置密码
page-account = 我的账号
page-sessions = 登录中的会话
page-systems = 已登录的系统
page-none = 无
page-this-device = 当前设备
page-end-session = 结束此会话
page-sign-out = 退出登录
page-sign-out-all = 在所有设备上退出
page-change-password = 修改密码
page-saved = 已保存
page-signed-out = 已退出
page-signed-out-text = 您已退出登录，所有已登录的系统都会收到通知。
page-error-title = 出错了
page-err-callback = 回调地址未注册，无法跳转。请联系该系统的管理员。
page-err-forbidden = 请求无效或已过期，请返回重试。
page-err-generic = 请求无法完成，请稍后再试。
page-err-credentials = 账号或密码错误
page-err-captcha = 图形验证码错误或已过期
page-err-code = 验证码错误或已过期
page-err-required = 请填写此项
page-err-number = 请输入正确的手机号或邮箱
page-err-locked = 尝试次数过多，请稍后再试
page-err-disabled = 账号已被禁用
page-err-not-found = 账号不存在
page-err-exists = 该账号已注册
page-err-weak = 密码需 8 到 72 个字节，不能是常见密码或与账号相同
page-err-unavailable = 服务暂不可用，请稍后再试
page-signup-done = 注册成功，请登录。
page-reset-done = 密码已重置，请用新密码登录。
page-admin = 管理控制台
page-partners = 接入系统
page-users = 用户
page-deliveries = 单点退出通知
page-name = 名称
page-callbacks = 回调地址规则
page-callbacks-hint = 每行一条；以 /* 结尾表示该路径前缀
page-redirect-uris = 重定向 URI（OpenID Connect）
page-post-logout-redirect-uris = 登出后重定向 URI（OpenID Connect）
page-uris-hint = 每行一个完整 URL
page-auth-method = 令牌端点认证方式（OpenID Connect）
page-id-token-alg = ID 令牌签名算法（OpenID Connect）
page-oidc-only = 仅用于 OpenID Connect 接入系统
page-sign-out-of = 要退出 Gatehouse 单点登录吗？
page-sign-out-confirm = 退出登录
page-err-flow-expired = 此登录请求已过期，请返回应用重新开始。
page-logout-url = 退出通知地址（可选）
page-mode = 回跳方式
page-enabled = 启用
page-create = 创建
page-save = 保存
page-rotate = 重置密钥
page-disable = 禁用
page-enable = 启用
page-search = 搜索
page-force-sign-out = 强制退出
page-state = 状态
page-attempts = 尝试次数
page-last-error = 最近错误
page-audit = 审计日志
page-event = 事件
page-detail = 详情
page-page = 第
page-previous = 上一页
page-next = 下一页
page-recent-signins = 最近登录
page-when = 时间
page-how = 方式
page-backlog = 各合作系统待发送的通知
page-pending = 待发送
page-oldest-pending = 最早等待自
page-signing-keys = 签名密钥
page-rotate-key = 生成新密钥
page-retires-at = 退役时间
page-secret-once = 请立即保存客户端密钥，它只显示这一次：
